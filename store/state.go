package store

// moves lists the transitions the state diagram on State allows.
var moves = map[State][]State{
	StatePending:   {StateExecuting, StateDenied, StateExpired, StateCancelled},
	StateExecuting: {StateSucceeded, StateFailed, StateUnknown},
	// A person who checked DialogTech records what they found.
	StateUnknown: {StateSucceeded, StateFailed},
}

// CanMoveTo reports whether the state diagram allows s → to. Transition
// refuses any other move before touching the database, so a caller bug
// cannot, say, put a finished purchase back to pending and run it again.
func (s State) CanMoveTo(to State) bool {
	for _, next := range moves[s] {
		if next == to {
			return true
		}
	}
	return false
}
