// Package dialogsim is an in-process stand-in for DialogTech's administration
// API (/ibp_api.php). It serves the sandbox mode of the product, where people
// try the bot with no DialogTech account, and every test that needs a
// DialogTech to talk to.
//
// The simulator answers the four actions the product uses (addons.list,
// addons.purchase, numbers.order, clickto.vr) with bodies shaped exactly like
// the vendor's published examples, and it keeps the account state those
// actions touch: add-ons with their total_qty and in_use, a finite inventory
// of tracking numbers per area code, the numbers handed out, and the known
// Virtual Receptionist menus. Faults (latency, error statuses, failed
// results, connections dropped before or after the action is carried out)
// can be injected per action to exercise a client's handling of lost
// answers.
//
// The package deliberately does not import the dialog client, so a broken
// client can never hide behind a simulator that shares its code.
package dialogsim

import (
	"context"
	"crypto/subtle"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Keys the sandbox accepts unless WithCredentials says otherwise.
const (
	DefaultAccessKey = "sandbox-access"
	DefaultSecretKey = "sandbox-secret"
)

// DefaultInventory is how many numbers each area code holds when first
// searched, unless WithInventory says otherwise.
const DefaultInventory = 50

// maxInventory bounds WithInventory so that generating an area always
// terminates quickly (an area spreads its numbers over at most 8 exchanges
// of 10,000 lines each).
const maxInventory = 5000

// Actions, as DialogTech names them. They repeat the client's constants on
// purpose: see the package comment.
const (
	actionAddOnsList     = "addons.list"
	actionAddOnsPurchase = "addons.purchase"
	actionNumbersOrder   = "numbers.order"
	actionClickToVR      = "clickto.vr"
)

// Option configures a Sim.
type Option func(*Sim)

// WithCredentials sets the access_key and secret_access_key the simulator
// accepts.
func WithCredentials(access, secret string) Option {
	return func(s *Sim) { s.accessKey, s.secretKey = access, secret }
}

// WithClock sets the clock that stamps the call log.
func WithClock(now func() time.Time) Option {
	return func(s *Sim) {
		if now != nil {
			s.now = now
		}
	}
}

// WithSeed makes the generated numbers deterministic: two simulators with
// the same seed and inventory size offer the same numbers in every area.
func WithSeed(seed int64) Option {
	return func(s *Sim) { s.seed = seed }
}

// WithInventory sets how many numbers an area code holds when it is first
// searched (default DefaultInventory). Values below 0 count as 0, values
// above 5000 as 5000.
func WithInventory(perArea int) Option {
	return func(s *Sim) { s.perArea = min(max(perArea, 0), maxInventory) }
}

// Sim simulates one DialogTech account. It is safe for concurrent use.
type Sim struct {
	accessKey, secretKey string
	now                  func() time.Time
	seed                 int64
	perArea              int

	mu       sync.Mutex
	addOns   []AddOn
	menus    map[string]bool
	areas    map[string][]Number // available inventory per NPA; a key exists once the area was generated
	ordered  []Number            // every number handed out, in order
	known    map[string]bool     // every number ever generated or handed out, so none is issued twice
	rng      *rand.Rand          // overlay numbers
	faults   []*faultEntry
	calls    []Call
	onChange func()
}

// New returns a simulator holding the add-ons of the vendor's addons.list
// example, the menus "1" and "55443322", and the default keys.
func New(opts ...Option) *Sim {
	s := &Sim{
		accessKey: DefaultAccessKey,
		secretKey: DefaultSecretKey,
		now:       time.Now,
		seed:      time.Now().UnixNano(),
		perArea:   DefaultInventory,
		addOns:    defaultAddOns(),
		menus:     map[string]bool{"1": true, "55443322": true},
		areas:     map[string][]Number{},
		known:     map[string]bool{},
	}
	for _, o := range opts {
		o(s)
	}
	s.rng = rand.New(rand.NewPCG(uint64(s.seed), overlayStream))
	return s
}

// OnChange registers f to be called after every call that changed the
// account (a purchase, an order that handed out numbers, SetAddOn, SetUsage,
// AddMenu, SetInventory), so that the sandbox can save a Snapshot. f runs
// before the HTTP answer is written and without the simulator's lock held,
// so it may call Snapshot; concurrent requests may run it concurrently. A
// later OnChange replaces the earlier f.
func (s *Sim) OnChange(f func()) {
	s.mu.Lock()
	s.onChange = f
	s.mu.Unlock()
}

func (s *Sim) changed() {
	s.mu.Lock()
	f := s.onChange
	s.mu.Unlock()
	if f != nil {
		f()
	}
}

// AddMenu makes id a known Virtual Receptionist menu for clickto.vr.
func (s *Sim) AddMenu(id string) {
	s.mu.Lock()
	s.menus[id] = true
	s.mu.Unlock()
	s.changed()
}

// reply is an answer before it is written, so that a fault can decide to
// drop it instead.
type reply struct {
	status      int
	contentType string
	body        string
}

// ServeHTTP answers at any path, as DialogTech's single endpoint does. GET
// query parameters and POST form values are both accepted.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A malformed pair is skipped and the rest is kept, as PHP does.
	_ = r.ParseForm()
	params := cloneValues(r.Form)
	action := params.Get("action")

	f, kind := s.takeFault(action)
	s.record(action, params, kind)

	if f.Latency > 0 && !wait(r.Context(), f.Latency) {
		return
	}
	switch {
	case f.DropAfterRead:
		drop(w)
		return
	case f.Status != 0:
		status := f.Status
		if status < 200 || status > 999 {
			// net/http panics on codes outside 100-999, and a 1xx is no
			// final answer.
			status = http.StatusInternalServerError
		}
		write(w, reply{status: status, contentType: "text/plain; charset=UTF-8", body: http.StatusText(status) + "\n"})
		return
	case f.FailResult != "":
		write(w, failed(f.FailResult))
		return
	}

	var rep reply
	var changed bool
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		// HEAD would carry the action out and hide the answer; refuse it.
		w.Header().Set("Allow", "GET, POST")
		rep = failed("method not allowed")
		rep.status = http.StatusMethodNotAllowed
	} else {
		rep, changed = s.execute(action, params)
	}
	if changed {
		s.changed()
	}
	if f.DropAfterExecute {
		drop(w)
		return
	}
	write(w, rep)
}

func (s *Sim) execute(action string, params url.Values) (reply, bool) {
	if !s.authorized(params) {
		return failed("invalid access_key or secret_access_key"), false
	}
	switch action {
	case actionAddOnsList:
		return s.listAddOns(), false
	case actionAddOnsPurchase:
		return s.purchase(params)
	case actionNumbersOrder:
		return s.order(params)
	case actionClickToVR:
		return s.clickToVR(params), false
	case "":
		return failed("action is required"), false
	default:
		// The action is not echoed: it is caller input and may hold anything.
		return failed("unknown action"), false
	}
}

func (s *Sim) authorized(params url.Values) bool {
	access, secret := params.Get("access_key"), params.Get("secret_access_key")
	if access == "" || secret == "" {
		return false
	}
	okAccess := subtle.ConstantTimeCompare([]byte(access), []byte(s.accessKey)) == 1
	okSecret := subtle.ConstantTimeCompare([]byte(secret), []byte(s.secretKey)) == 1
	return okAccess && okSecret
}

// wait sleeps for d unless ctx ends first; it reports whether the full delay
// passed.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// drop closes the connection without a byte of answer. Without a hijackable
// connection (HTTP/2, a ResponseRecorder) the standard abort panic is the
// only way to make the client see a broken exchange.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func write(w http.ResponseWriter, rep reply) {
	w.Header().Set("Content-Type", rep.contentType)
	status := rep.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, rep.body)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
