package alerts

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
)

// UsageReader reads the account's add-ons (dialog.Client does).
type UsageReader interface {
	ListAddOns(ctx context.Context) ([]dialog.AddOn, error)
}

// Store is the part of store.Store the alerts use.
type Store interface {
	GetAlertState(ctx context.Context, key string) (*store.AlertState, error)
	PutAlertState(ctx context.Context, s *store.AlertState, prevUpdatedAt time.Time) error
	ListAlertStates(ctx context.Context) ([]*store.AlertState, error)
	ClaimNotification(ctx context.Context, key string, episode int64, state string, at time.Time) error
	ClaimNotificationDue(ctx context.Context, n store.DueNotice) error
	DeferNotification(ctx context.Context, n store.DueNotice) error
	DueNotices(ctx context.Context, now time.Time, limit int) ([]store.DueNotice, error)
	TakeDueNotice(ctx context.Context, key string, episode int64, claim string, prev, next time.Time) (bool, error)
	NotificationSent(ctx context.Context, key string, episode int64, claim string) error
	AddSamples(ctx context.Context, samples []store.Sample) error
	Samples(ctx context.Context, itemID int, since time.Time) ([]store.Sample, error)
	PruneSamples(ctx context.Context, before time.Time) error
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error)
	LeaseExpiry(ctx context.Context, name string) (holder string, expires time.Time, err error)
}

// Poster sends messages to a chat (the Slack transport does).
type Poster interface {
	Post(ctx context.Context, channel string, m reply.Message) (ts string, err error)
	Update(ctx context.Context, channel, ts string, m reply.Message) error
	Reply(ctx context.Context, channel, threadTS string, m reply.Message) (ts string, err error)
}

// Option configures a Runner.
type Option func(*Runner)

// WithClock sets the clock the alerts decide by (tests use a fake one).
func WithClock(now func() time.Time) Option { return func(r *Runner) { r.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(r *Runner) { r.log = l } }

// WithPacer replaces the wait before each Slack call. The default spaces
// calls to one channel a second apart, Slack's posting rate; tests pass one
// that does not sleep.
func WithPacer(wait func(ctx context.Context, channel string) error) Option {
	return func(r *Runner) { r.pace = wait }
}

// WithResendObserver is called after a notice Slack did not take the
// first time was sent again, with "refused" (Slack said no: the resend is
// the only copy) or "answer_lost" (Slack's answer was lost: it may have
// posted the first, so this may be a second copy). It must be cheap and
// safe for concurrent use.
func WithResendObserver(f func(reason string)) Option { return func(r *Runner) { r.onResend = f } }

// WithSleep replaces how the runner waits for a lease to run out (tests
// with a fake clock advance it instead).
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(r *Runner) { r.wait = f }
}

// WithPostObserver is called with the alert's state (warning, critical,
// resolved, error) after each notice people are shown was sent: a new post,
// an escalation, a repeat or a resolution; not the silent edits. It must be
// cheap and safe for concurrent use.
func WithPostObserver(f func(state string)) Option { return func(r *Runner) { r.onPost = f } }

// WithRunObserver is told how each scheduled check ended: "ok", "error"
// (reading add-ons or the store failed), or "skipped" (another replica
// holds the schedule). It must be cheap and safe for concurrent use.
func WithRunObserver(f func(outcome string)) Option { return func(r *Runner) { r.onRun = f } }

// LeaseName is the store lease a Runner holds while it runs the schedule.
const LeaseName = "alerts.schedule"

// DefaultLeaseTTL is WithLease's default.
const DefaultLeaseTTL = time.Minute

// WithLease sets how long past a tick it missed a runner keeps the schedule:
// each tick, a runner takes or renews the lease LeaseName until its next
// tick plus ttl, and skips the tick when another runner holds it. A runner
// refused a tick tries again the moment the holder's lease runs out, when
// that comes before its own next tick. So of several replicas on one store
// only one reads DialogTech per tick, and when it dies another takes over
// within ttl of its first missed tick. A ttl <= 0 turns the lease off:
// every runner reads on every tick, and the notification claims alone keep
// each notice to one post.
func WithLease(ttl time.Duration) Option { return func(r *Runner) { r.leaseTTL = ttl } }

// Runner runs the capacity alerts on a schedule. It is safe for concurrent
// use, and several Runners (one per replica) may share a store.
type Runner struct {
	reader UsageReader
	st     Store
	poster Poster
	s      Settings
	now    func() time.Time
	log    *slog.Logger
	pace   func(ctx context.Context, channel string) error
	onPost func(state string)   // may be nil
	onRun  func(outcome string) // may be nil
	// onResend is told of each notice sent again, with why it was due:
	// "refused" or "answer_lost" (the resend may be a second copy).
	onResend func(reason string)
	wait     func(ctx context.Context, d time.Duration) error

	leaseTTL time.Duration
	holder   string // this runner's name in the lease: host/pid/random

	runMu   sync.Mutex // one run at a time in this process
	leading bool       // guarded by runMu: the last tick held the lease

	mu       sync.Mutex // guards the fields below
	cron     *cron.Cron
	cancel   context.CancelFunc
	schedule cron.Schedule // overrides Settings.Schedule (tests)
}

// New returns a Runner. Zero settings take their defaults; Start checks
// them.
func New(reader UsageReader, st Store, poster Poster, s Settings, opts ...Option) *Runner {
	r := &Runner{
		reader:   reader,
		st:       st,
		poster:   poster,
		s:        s.withDefaults(),
		now:      time.Now,
		log:      slog.Default(),
		leaseTTL: DefaultLeaseTTL,
		// The pid tells an operator which process holds the schedule.
		holder: fmt.Sprintf("%s/%d/%s", hostname(), os.Getpid(), rand.Text()[:8]),
	}
	for _, o := range opts {
		o(r)
	}
	if r.pace == nil {
		r.pace = newPacer(time.Second, time.Now, sleep).wait
	}
	if r.wait == nil {
		r.wait = sleep
	}
	return r
}

func (r *Runner) clock() time.Time { return r.now().UTC().Round(0) }

// ReadError is returned by RunOnce when addons.list failed. Its text is
// redacted; the cause stays reachable with errors.As.
type ReadError struct {
	Reason string // redacted
	Err    error
}

func (e *ReadError) Error() string { return "alerts: read add-on usage: " + e.Reason }
func (e *ReadError) Unwrap() error { return e.Err }

// RunOnce is one tick: read addons.list once, record a usage sample per
// add-on, decide every alert and say what has to be said. When addons.list
// fails the error is a *ReadError (redacted text); the read-error alert
// counts the failure either way.
//
// A tick when another runner holds the schedule lease does nothing and
// returns nil.
func (r *Runner) RunOnce(ctx context.Context) error {
	_, err := r.runOnce(ctx)
	return err
}

// runOnce is RunOnce that also says whether this runner led the tick.
func (r *Runner) runOnce(ctx context.Context) (led bool, err error) {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	now := r.clock()

	if lead, err := r.lead(ctx, now); !lead {
		return false, err
	}
	return true, r.run(ctx, now)
}

// takeoverAt is when a runner refused the schedule at now tries again: the
// moment the holder's lease runs out, if that is before next (this
// runner's next tick); zero when there is nothing to wait for.
func (r *Runner) takeoverAt(ctx context.Context, now, next time.Time) time.Time {
	if r.leaseTTL <= 0 {
		return time.Time{}
	}
	holder, expires, err := r.st.LeaseExpiry(ctx, LeaseName)
	if err != nil || holder == r.holder || !expires.Before(next) {
		return time.Time{}
	}
	if !expires.After(now) {
		return now
	}
	return expires
}

// tick is one scheduled run: RunOnce, and when another runner held the
// schedule, again the moment its lease runs out (before the next tick), so
// a holder that died is replaced within the lease's ttl of the tick it
// missed rather than a tick later.
func (r *Runner) tick(ctx context.Context, sched cron.Schedule) {
	for range 3 {
		led, err := r.runOnce(ctx)
		if err != nil {
			r.log.WarnContext(ctx, "alerts: run", "error", err)
		}
		if r.onRun != nil {
			switch {
			case err != nil:
				r.onRun("error")
			case led:
				r.onRun("ok")
			default:
				r.onRun("skipped")
			}
		}
		if led || err != nil {
			return
		}
		now := r.clock()
		at := r.takeoverAt(ctx, now, sched.Next(now))
		if at.IsZero() {
			return
		}
		r.log.DebugContext(ctx, "alerts: another replica holds the schedule; trying again when its lease runs out", "at", at)
		if err := r.wait(ctx, at.Sub(now)); err != nil {
			return
		}
	}
}

func (r *Runner) run(ctx context.Context, now time.Time) error {
	if err := r.resendDue(ctx, now); err != nil {
		r.log.WarnContext(ctx, "alerts: resend due notices", "error", err)
	}
	rows, err := r.st.ListAlertStates(ctx)
	if err != nil {
		return fmt.Errorf("alerts: list alert states: %w", err)
	}
	byKey := make(map[string]*store.AlertState, len(rows))
	for _, row := range rows {
		byKey[row.Key] = row
	}

	addOns, err := r.reader.ListAddOns(ctx)
	if err != nil {
		rerr := &ReadError{Reason: r.s.redact(err.Error()), Err: err}
		r.log.WarnContext(ctx, "alerts: cannot read add-on usage", "error", rerr.Reason)
		return errors.Join(rerr, r.step(ctx, byKey[ReadErrorKey], ReadErrorKey, Input{ReadErr: err.Error()}, now))
	}

	var errs []error
	samples := make([]store.Sample, 0, len(addOns))
	for _, a := range addOns {
		samples = append(samples, store.Sample{ItemID: a.ItemID, At: now, InUse: a.InUse, Total: a.TotalQty})
	}
	if err := r.st.AddSamples(ctx, samples); err != nil {
		// The alerts still work on this reading; only the forecast misses
		// a point.
		errs = append(errs, fmt.Errorf("alerts: store samples: %w", err))
	}
	if err := r.st.PruneSamples(ctx, now.Add(-SampleRetention)); err != nil {
		errs = append(errs, fmt.Errorf("alerts: prune samples: %w", err))
	}

	errs = append(errs, r.step(ctx, byKey[ReadErrorKey], ReadErrorKey, Input{}, now))
	listed := make(map[string]bool, len(addOns))
	for _, a := range addOns {
		key := AddOnKey(a.ItemID)
		listed[key] = true
		in := Input{AddOn: a}
		if r.wantsForecast(a, byKey[key]) {
			in.Forecast = r.forecast(ctx, a, byKey[key], now)
		}
		errs = append(errs, r.step(ctx, byKey[key], key, in, now))
	}
	for _, row := range rows {
		// An empty list is more likely a glitch than an account with
		// nothing on it; it must not resolve every alert at once.
		if len(addOns) > 0 && strings.HasPrefix(row.Key, "addon:") && !listed[row.Key] && Level(row.State).Firing() {
			errs = append(errs, r.step(ctx, row, row.Key, Input{Missing: true}, now))
		}
	}
	return errors.Join(errs...)
}

// lead takes or renews the schedule lease; false means this tick is
// another runner's.
func (r *Runner) lead(ctx context.Context, now time.Time) (bool, error) {
	if r.leaseTTL <= 0 {
		return true, nil
	}
	ttl := r.leaseTTL
	r.mu.Lock()
	sched := r.schedule
	r.mu.Unlock()
	if sched == nil {
		sched, _ = ParseSchedule(r.s.Schedule) // a bad one: Start refuses it; the ttl alone serves RunOnce
	}
	if sched != nil {
		// Held until the next tick and ttl past it: the holder renews on
		// time, so the lease does not lapse between ticks of a schedule
		// longer than ttl.
		if next := sched.Next(now); next.After(now) {
			ttl += next.Sub(now)
		}
	}
	ok, err := r.st.AcquireLease(ctx, LeaseName, r.holder, ttl, now)
	if err != nil {
		return false, fmt.Errorf("alerts: take the schedule lease: %w", err)
	}
	switch {
	case ok && !r.leading:
		r.log.InfoContext(ctx, "alerts: this replica runs the schedule", "holder", r.holder)
	case !ok:
		r.log.DebugContext(ctx, "alerts: another replica runs the schedule; tick skipped", "holder", r.holder)
	}
	r.leading = ok
	return ok, nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}

// wantsForecast: the forecast matters only where it can raise or keep a
// warning, or is shown; elsewhere it would cost a query per add-on a run.
func (r *Runner) wantsForecast(a dialog.AddOn, row *store.AlertState) bool {
	if row != nil && Level(row.State).Firing() {
		return true
	}
	return a.TotalQty > 0 && atLeast(a.Usage(), r.s.ForecastFrom-r.s.margin())
}

// forecast predicts a from its samples. When they cannot be read it falls
// back on the alert's last forecast: an unreadable history must not end a
// warning the forecast raised, as a failed read never resolves an alert.
func (r *Runner) forecast(ctx context.Context, a dialog.AddOn, row *store.AlertState, now time.Time) Prediction {
	samples, err := r.st.Samples(ctx, a.ItemID, now.Add(-ForecastWindow))
	if err != nil {
		r.log.WarnContext(ctx, "alerts: read samples", "item_id", a.ItemID, "error", err)
		if row != nil {
			return FromStore(*row).Reading.Forecast
		}
		return Prediction{At: now}
	}
	return Forecast(samples, a.TotalQty, now)
}

// step decides one alert and acts on it. The state is written before
// anything is sent: the replica whose write wins owns this tick's notices,
// and one that dies after writing loses at most a notice, never leaves the
// alert stuck. Each notice is then claimed before it is sent.
func (r *Runner) step(ctx context.Context, row *store.AlertState, key string, in Input, now time.Time) error {
	prev := State{Key: key}
	var prevAt time.Time
	if row != nil {
		prev, prevAt = FromStore(*row), row.UpdatedAt
	}
	next, notices := Decide(prev, in, r.s, now)
	if next == prev {
		return nil
	}
	saved, err := toStore(next)
	if err != nil {
		return err
	}
	saved.UpdatedAt = nextUpdatedAt(now, prevAt)
	if err := r.st.PutAlertState(ctx, saved, prevAt); err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrDuplicate) {
			// Another replica, or a snooze, moved this alert since it was
			// read; that writer acts on this tick.
			r.log.DebugContext(ctx, "alerts: alert changed concurrently, skipped", "key", key)
			return nil
		}
		return fmt.Errorf("alerts: save %s: %w", key, err)
	}
	for _, n := range notices {
		r.log.InfoContext(ctx, "alerts: notice", "key", key, "level", next.Level, "episode", next.Episode, "notice", n)
	}
	ts := r.deliver(ctx, next, notices, now)
	if ts == "" {
		return nil
	}
	return r.recordMessage(ctx, saved, ts)
}

// deliver sends the notices and returns the ts of a posted message.
func (r *Runner) deliver(ctx context.Context, st State, notices []Notice, now time.Time) (posted string) {
	channel := cmp.Or(st.ChannelID, r.s.Channel)
	for _, n := range notices {
		if n != NoticePost && st.MessageTS == "" {
			continue
		}
		claim := string(n) + "-" + strconv.FormatInt(st.Rev, 10)
		if n == NoticePost {
			if !r.claim(ctx, st.Key, st.Episode, claim, now) {
				continue
			}
		} else if !r.claimDue(ctx, st, n, claim, now) {
			continue
		}
		if err := r.pace(ctx, channel); err != nil {
			r.log.WarnContext(ctx, "alerts: notice not sent", "key", st.Key, "notice", n, "error", err)
			if n != NoticePost {
				r.deferNotice(ctx, st, n, claim, 0, err, now)
			}
			return posted
		}
		ts, err := r.send(ctx, channel, st, n)
		switch {
		case err != nil && n == NoticePost:
			// Claimed and not posted: Decide posts the episode again after
			// postRetry, under a new claim.
			r.log.WarnContext(ctx, "alerts: notice not sent", "key", st.Key, "notice", n, "error", err)
		case err != nil:
			r.log.WarnContext(ctx, "alerts: notice not sent; it stays due", "key", st.Key, "notice", n, "error", err)
			r.deferNotice(ctx, st, n, claim, 1, err, now)
		default:
			if n == NoticePost {
				posted = ts
			} else {
				r.sent(ctx, st.Key, st.Episode, claim)
			}
			if n != NoticeUpdate && r.onPost != nil {
				r.onPost(string(st.Level))
			}
		}
	}
	return posted
}

// staleSend is how long a claimed notice may go unconfirmed before it is
// taken to be lost (its process died around the send) and sent again.
const staleSend = 10 * time.Minute

// claimDue claims a notice and, in the same write, records it as due
// staleSend from now: should this process die before the send is
// confirmed, a later run sends it again (counted as a possible second
// copy). False: it must not be sent (claimed already, or the store fails).
func (r *Runner) claimDue(ctx context.Context, st State, n Notice, claim string, now time.Time) bool {
	due, err := r.due(st, n, claim, 0, true, now.Add(staleSend))
	if err == nil {
		err = r.st.ClaimNotificationDue(ctx, due)
	}
	switch {
	case err == nil:
		return true
	case errors.Is(err, store.ErrDuplicate):
		r.log.DebugContext(ctx, "alerts: notice already sent", "key", st.Key, "episode", st.Episode, "notice", claim)
	default:
		r.log.WarnContext(ctx, "alerts: cannot claim notice", "key", st.Key, "notice", claim, "error", err)
	}
	return false
}

// sent confirms a notice: it is due no more.
func (r *Runner) sent(ctx context.Context, key string, episode int64, claim string) {
	if err := r.st.NotificationSent(ctx, key, episode, claim); err != nil {
		r.log.WarnContext(ctx, "alerts: sent notice still listed as due; it may be sent again", "key", key, "notice", claim, "error", err)
	}
}

func (r *Runner) due(st State, n Notice, claim string, attempts int, lost bool, at time.Time) (store.DueNotice, error) {
	saved, err := toStore(st)
	if err != nil {
		return store.DueNotice{}, err
	}
	raw, err := json.Marshal(saved)
	if err != nil {
		return store.DueNotice{}, fmt.Errorf("alerts: encode notice %s: %w", claim, err)
	}
	return store.DueNotice{Key: st.Key, Episode: st.Episode, Claim: claim, Notice: string(n), State: raw,
		Attempts: attempts, Lost: lost, NextAt: at}, nil
}

// send makes one notice's Slack call.
func (r *Runner) send(ctx context.Context, channel string, st State, n Notice) (string, error) {
	switch n {
	case NoticePost:
		return r.poster.Post(ctx, channel, alertMessage(st, r.s))
	case NoticeUpdate:
		return "", r.poster.Update(ctx, channel, st.MessageTS, alertMessage(st, r.s))
	}
	return r.poster.Reply(ctx, channel, st.MessageTS, threadMessage(st, n))
}

// resendDelay is how long a notice Slack did not take waits after its
// attempts-th try: the next run for the first, then from a minute,
// doubling, to an hour.
func resendDelay(attempts int) time.Duration {
	if attempts <= 1 {
		return 0
	}
	return min(time.Minute<<min(attempts-2, 6), time.Hour)
}

// deferNotice makes a notice that was not sent due again, with the state
// it was drawn from, after resendDelay.
func (r *Runner) deferNotice(ctx context.Context, st State, n Notice, claim string, attempts int, sendErr error, now time.Time) {
	lost := sendErr != nil && !errors.Is(sendErr, reply.ErrRefused)
	due, err := r.due(st, n, claim, attempts, lost, now.Add(resendDelay(attempts)))
	if err == nil {
		err = r.st.DeferNotification(ctx, due)
	}
	if err != nil {
		r.log.ErrorContext(ctx, "alerts: notice not sent and cannot be kept due", "key", st.Key, "notice", n, "error", err)
	}
}

// resendDue sends the notices that are due again. A resend after a lost
// answer may make a second copy (Slack may have posted the first); it is
// counted.
func (r *Runner) resendDue(ctx context.Context, now time.Time) error {
	due, err := r.st.DueNotices(ctx, now, 50)
	if err != nil {
		return fmt.Errorf("alerts: due notices: %w", err)
	}
	for _, d := range due {
		var row store.AlertState
		if err := json.Unmarshal(d.State, &row); err != nil {
			r.log.ErrorContext(ctx, "alerts: due notice unreadable; dropped", "key", d.Key, "notice", d.Notice, "error", err)
			_ = r.st.NotificationSent(ctx, d.Key, d.Episode, d.Claim)
			continue
		}
		st, n := FromStore(row), Notice(d.Notice)
		if n == NoticeUpdate {
			// An edit shows the alert as it is now, if it is the same episode.
			if cur, err := r.st.GetAlertState(ctx, d.Key); err == nil && cur.Episode == d.Episode {
				st = FromStore(*cur)
			}
		}
		// The due row is the lock: one runner moves its time on and sends.
		won, err := r.st.TakeDueNotice(ctx, d.Key, d.Episode, d.Claim, d.NextAt, now.Add(staleSend))
		if err != nil || !won {
			continue
		}
		channel := cmp.Or(st.ChannelID, r.s.Channel)
		if err := r.pace(ctx, channel); err != nil {
			r.deferNotice(ctx, st, n, d.Claim, d.Attempts, err, now)
			return err
		}
		if _, err := r.send(ctx, channel, st, n); err != nil {
			r.log.WarnContext(ctx, "alerts: notice not sent again; it stays due", "key", d.Key, "notice", n, "attempts", d.Attempts+1, "error", err)
			r.deferNotice(ctx, st, n, d.Claim, d.Attempts+1, err, now)
			continue
		}
		reason := "refused"
		if d.Lost {
			reason = "answer_lost"
		}
		r.log.InfoContext(ctx, "alerts: notice sent again", "key", d.Key, "notice", n, "attempts", d.Attempts+1, "after", reason)
		if r.onResend != nil {
			r.onResend(reason)
		}
		if n != NoticeUpdate && r.onPost != nil {
			r.onPost(string(st.Level))
		}
		r.sent(ctx, d.Key, d.Episode, d.Claim)
	}
	return nil
}

// claim records a notice in the notification log; false means it must not
// be sent (another runner sent it, or the log cannot be written).
func (r *Runner) claim(ctx context.Context, key string, episode int64, kind string, now time.Time) bool {
	err := r.st.ClaimNotification(ctx, key, episode, kind, now)
	switch {
	case err == nil:
		return true
	case errors.Is(err, store.ErrDuplicate):
		r.log.DebugContext(ctx, "alerts: notice already sent", "key", key, "episode", episode, "notice", kind)
	default:
		r.log.WarnContext(ctx, "alerts: cannot claim notice", "key", key, "notice", kind, "error", err)
	}
	return false
}

// recordMessage stores where the episode's message went, so later edits
// and thread replies find it. A concurrent write (a snooze, another
// replica's tick) is merged into rather than overwritten.
func (r *Runner) recordMessage(ctx context.Context, saved *store.AlertState, ts string) error {
	cur := *saved
	for range 5 {
		if cur.Episode != saved.Episode || cur.MessageTS != "" {
			return nil // the alert moved on
		}
		prevAt := cur.UpdatedAt
		cur.ChannelID = saved.ChannelID
		cur.MessageTS = ts
		cur.UpdatedAt = nextUpdatedAt(r.clock(), prevAt)
		err := r.st.PutAlertState(ctx, &cur, prevAt)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("alerts: record message of %s: %w", saved.Key, err)
		}
		fresh, err := r.st.GetAlertState(ctx, saved.Key)
		if err != nil {
			return fmt.Errorf("alerts: record message of %s: %w", saved.Key, err)
		}
		cur = *fresh
	}
	return fmt.Errorf("alerts: record message of %s: %w", saved.Key, store.ErrConflict)
}

// Snooze silences an open alert's reminders and edits for d, on behalf of
// userID; it still speaks up if the add-on becomes critical. It returns
// the ephemeral confirmation for the person who pressed the button. A
// snooze of an alert that is no longer open is not an error: the reply
// says so.
func (r *Runner) Snooze(ctx context.Context, key, userID string, d time.Duration) (reply.Message, error) {
	if d < time.Minute || d > MaxSnooze {
		return ephemeral(fmt.Sprintf("A snooze lasts from a minute to %d days.", int(MaxSnooze.Hours()/24))), nil
	}
	var st State
	for attempt := 0; ; attempt++ {
		now := r.clock()
		row, err := r.st.GetAlertState(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return ephemeral("There is no such alert."), nil
		}
		if err != nil {
			return reply.Message{}, fmt.Errorf("alerts: snooze %s: %w", key, err)
		}
		st = FromStore(*row)
		if !st.Level.Firing() {
			return ephemeral("This alert is no longer open; nothing to snooze."), nil
		}
		st.SnoozedBy, st.SnoozedUntil = userID, now.Add(d)
		st.Rev++
		saved, err := toStore(st)
		if err != nil {
			return reply.Message{}, err
		}
		saved.UpdatedAt = nextUpdatedAt(now, row.UpdatedAt)
		err = r.st.PutAlertState(ctx, saved, row.UpdatedAt)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 4 {
			return reply.Message{}, fmt.Errorf("alerts: snooze %s: %w", key, err)
		}
	}
	r.log.InfoContext(ctx, "alerts: snoozed", "key", key, "by", userID, "until", st.SnoozedUntil)
	if st.MessageTS != "" {
		r.deliver(ctx, st, []Notice{NoticeUpdate}, r.clock())
	}
	what := "this alert"
	if st.Key != ReadErrorKey {
		what = name(st.Reading)
	}
	still := "You will still hear if it becomes critical."
	switch st.Level {
	case LevelCritical:
		still = "It is critical already: no repeats until then, unless it eases and turns critical again; you will hear when it resolves."
	case LevelError:
		still = "You will hear when reading works again."
	}
	return ephemeral(fmt.Sprintf("Snoozed %s until %s. %s",
		what, st.SnoozedUntil.UTC().Format(timeLayout), still)), nil
}

func ephemeral(text string) reply.Message {
	return reply.Message{Text: text, Blocks: []reply.Block{reply.Section{Text: text}}, Visibility: reply.Ephemeral}
}

// Open returns the open alerts, most severe first (for App Home). FromStore
// reads their details.
func (r *Runner) Open(ctx context.Context) ([]store.AlertState, error) {
	rows, err := r.st.ListAlertStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("alerts: list alert states: %w", err)
	}
	rank := map[Level]int{LevelError: 0, LevelCritical: 1, LevelWarning: 2}
	var open []store.AlertState
	for _, row := range rows {
		if Level(row.State).Firing() {
			open = append(open, *row)
		}
	}
	slices.SortFunc(open, func(a, b store.AlertState) int {
		return cmp.Or(cmp.Compare(rank[Level(a.State)], rank[Level(b.State)]), strings.Compare(a.Key, b.Key))
	})
	return open, nil
}

// Suggest is how many of a to buy for its alert to resolve, as the alert
// message suggests it (for the Request more button).
func (r *Runner) Suggest(a dialog.AddOn) int {
	return suggest(Reading{ItemID: a.ItemID, InUse: a.InUse, Total: a.TotalQty, MaxQtyPurchase: a.MaxQtyPurchase, Threshold: r.s.threshold(a.ItemID)}, r.s)
}

// Forecasts predicts every add-on from its stored samples (for /addons and
// App Home). An add-on whose samples cannot be read is left out.
func (r *Runner) Forecasts(ctx context.Context, addOns []dialog.AddOn) map[int]Prediction {
	now := r.clock()
	out := make(map[int]Prediction, len(addOns))
	for _, a := range addOns {
		samples, err := r.st.Samples(ctx, a.ItemID, now.Add(-ForecastWindow))
		if err != nil {
			r.log.WarnContext(ctx, "alerts: read samples", "item_id", a.ItemID, "error", err)
			continue
		}
		out[a.ItemID] = Forecast(samples, a.TotalQty, now)
	}
	return out
}

// Start runs RunOnce on Settings.Schedule until Stop. A run still going
// when the next is due makes that one skip; a panic in a run is logged and
// the schedule goes on.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.s.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cron != nil {
		return errors.New("alerts: already started")
	}
	sched := r.schedule
	if sched == nil {
		var err error
		if sched, err = ParseSchedule(r.s.Schedule); err != nil {
			return err
		}
	}
	logger := cronLogger{r.log}
	c := cron.New(
		cron.WithParser(scheduleParser),
		// Recover goes inside SkipIfStillRunning: the other way round, a
		// panic unwinds past SkipIfStillRunning before it frees its slot,
		// and every later run is skipped for good.
		cron.WithChain(cron.SkipIfStillRunning(logger), cron.Recover(logger)),
		cron.WithLogger(logger),
	)
	// Runs outlive the caller's context: a shutdown lets the run in flight
	// finish, bounded by Stop's context.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.Schedule(sched, cron.FuncJob(func() { r.tick(runCtx, sched) }))
	c.Start()
	r.cron, r.cancel = c, cancel
	r.log.InfoContext(ctx, "alerts: started", "schedule", r.s.Schedule, "channel", r.s.Channel)
	return nil
}

// Stop ends the schedule and waits for a run in flight until ctx is done;
// then it cancels that run and returns ctx's error. A runner that held the
// schedule lease hands it back, so that another replica takes the schedule
// on its next tick rather than once the lease runs out.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	c, cancel := r.cron, r.cancel
	r.cron, r.cancel = nil, nil
	r.mu.Unlock()
	if c == nil {
		return nil
	}
	defer cancel()
	select {
	case <-c.Stop().Done():
		r.release(ctx)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release ends this runner's lease by taking it for a microsecond: the
// write lands only while the lease is still this runner's (or has run
// out), so it never cuts another holder's short.
func (r *Runner) release(ctx context.Context) {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	if r.leaseTTL <= 0 || !r.leading {
		return
	}
	r.leading = false
	if _, err := r.st.AcquireLease(ctx, LeaseName, r.holder, time.Microsecond, r.clock()); err != nil {
		r.log.WarnContext(ctx, "alerts: hand the schedule back", "error", err)
	}
}

// cronLogger hands cron's logging to slog; its chatter goes to debug.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append([]any{"error", err}, kv...)...)
}

// pacer spaces calls to one channel interval apart. It reserves slots, so
// concurrent callers queue instead of all waking at once.
type pacer struct {
	interval time.Duration
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex
	next map[string]time.Time
}

func newPacer(interval time.Duration, now func() time.Time, sleep func(context.Context, time.Duration) error) *pacer {
	return &pacer{interval: interval, now: now, sleep: sleep, next: make(map[string]time.Time)}
}

func (p *pacer) wait(ctx context.Context, channel string) error {
	p.mu.Lock()
	now := p.now()
	at := p.next[channel]
	if at.Before(now) {
		at = now
	}
	p.next[channel] = at.Add(p.interval)
	p.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return p.sleep(ctx, d)
	}
	return ctx.Err()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
