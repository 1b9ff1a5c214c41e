package store

// moves lists the transitions the state diagram on State allows from s.
func moves(s State) []State {
	switch s {
	case StatePending:
		return []State{StateExecuting, StateDenied, StateExpired, StateCancelled}
	case StateExecuting:
		return []State{StateSucceeded, StateFailed, StateUnknown}
	case StateUnknown:
		// A person who checked DialogTech records what they found.
		return []State{StateSucceeded, StateFailed}
	}
	return nil
}

// CanMoveTo reports whether the state diagram allows s → to. Transition
// refuses any other move before touching the database, so a caller bug
// cannot, say, put a finished purchase back to pending and run it again.
func (s State) CanMoveTo(to State) bool {
	for _, next := range moves(s) {
		if next == to {
			return true
		}
	}
	return false
}
