package replicatest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/internal/pgtest"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/internal/testlog"
	"github.com/dialogbot/dialogbot/store"
)

const (
	postgresEnv = "DIALOGBOT_TEST_POSTGRES_URL"

	// Secrets the replicas are given; none may show in their output.
	botToken = "xoxb-5151-6262-REPLICABOT"
	appToken = "xapp-1-A515-7373-REPLICAAPP"
	dtAccess = "AK-replicas"
	dtSecret = "s3cr3t-REPLICA-DT-4417"

	requestChannel = "C0ORDERS"
	alertChannel   = "C0ALERTS"
	requester      = "U0REQUEST"
	approverA      = "U0APPROVA"
	approverB      = "U0APPROVB"
)

// binDir holds the dialogbot binaries, each built once for the whole run:
// the program as shipped, and one with -tags crashpoints.
var (
	binDir  string
	dirOnce sync.Once
	dirErr  error
	builds  sync.Map // tags → *build
)

type build struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// postgresURL is the server the tests use; they skip without one.
func postgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(postgresEnv)
	if u == "" {
		t.Skipf("set %s to run the replica tests, e.g. %s='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'",
			postgresEnv, postgresEnv)
	}
	return u
}

// dialogbotBinary builds cmd/dialogbot once, with the race detector when
// the tests have it. `go test` puts its own go first on PATH.
func dialogbotBinary(t *testing.T) string { return buildBinary(t, "") }

// crashBinary is dialogbot built with -tags crashpoints: it kills itself at
// the approval step DIALOGBOT_CRASH_AT names (cmd/dialogbot/crashpoints.go).
func crashBinary(t *testing.T) string { return buildBinary(t, "crashpoints") }

func buildBinary(t *testing.T, tags string) string {
	t.Helper()
	dirOnce.Do(func() { binDir, dirErr = os.MkdirTemp("", "replicatest") })
	if dirErr != nil {
		t.Fatal(dirErr)
	}
	v, _ := builds.LoadOrStore(tags, &build{})
	b := v.(*build)
	b.once.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			b.err = fmt.Errorf("find the go command: %w", err)
			return
		}
		b.path = filepath.Join(binDir, "dialogbot"+tags)
		args := []string{"build", "-o", b.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		if tags != "" {
			args = append(args, "-tags", tags)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, gobin, append(args, "github.com/dialogbot/dialogbot/cmd/dialogbot")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// withParam returns rawURL with query parameter key set to value; the driver
// sends parameters it does not know to the server as session settings.
func withParam(t *testing.T, rawURL, key, value string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse %s: %v", postgresEnv, err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func connect(t *testing.T, rawURL string) *pgtest.Session {
	t.Helper()
	return pgtest.Connect(t, rawURL)
}

// newSchema creates an empty schema for one test, dropped when it ends, and
// returns a URL whose sessions work in it.
func newSchema(t *testing.T) string {
	t.Helper()
	base := postgresURL(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "dbr_" + hex.EncodeToString(b)
	admin := connect(t, base)
	if _, err := admin.Exec(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withParam(t, base, "search_path", schema)
}

// replica is one `dialogbot serve` process.
type replica struct {
	name   string
	cmd    *exec.Cmd
	stderr *testlog.Buffer // the process's output
	done   chan struct{}   // closed when the process has exited
	err    error           // Wait's result, once done
	killed bool
}

func (r *replica) pid() int { return r.cmd.Process.Pid }

func (r *replica) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// kill ends the process at once, as a crash or an OOM kill would.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	r.killed = true
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", r.name, err)
	}
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not die", r.name)
	}
}

// cluster is the world the replicas run in: one Slack, one DialogTech, one
// database schema.
type cluster struct {
	t        *testing.T
	slack    *slacktest.Server
	sim      *dialogsim.Sim
	simURL   string
	dbURL    string
	db       *pgtest.Session // the test's own session in the schema
	store    store.Store
	replicas []*replica
	// bin, when set, is the binary start runs instead of dialogbotBinary.
	bin string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t}
	c.dbURL = newSchema(t)
	c.slack = slacktest.NewServer(t, slacktest.WithTokens(botToken, appToken), slacktest.WithPingInterval(time.Second))
	// Once the replicas have stopped, Slack took everything they sent.
	t.Cleanup(func() { c.slack.CheckNoRefusals(t) })
	c.sim = dialogsim.New(dialogsim.WithCredentials(dtAccess, dtSecret), dialogsim.WithSeed(11), dialogsim.WithInventory(200))
	srv := httptest.NewServer(c.sim)
	t.Cleanup(srv.Close)
	c.simURL = srv.URL + "/ibp_api.php"
	c.db = connect(t, c.dbURL)
	return c
}

// openStore opens the replicas' store for the test's checks, once they
// have created the schema.
func (c *cluster) openStore() store.Store {
	c.t.Helper()
	if c.store == nil {
		st, err := store.Open(c.t.Context(), c.dbURL)
		if err != nil {
			c.t.Fatalf("open store: %v", err)
		}
		c.t.Cleanup(func() { st.Close() })
		c.store = st
	}
	return c.store
}

// start runs n replicas with the settings every test shares plus extra
// (KEY=value), and waits until each has its Socket Mode connection.
func (c *cluster) start(n int, extra ...string) {
	c.t.Helper()
	bin := c.bin
	if bin == "" {
		bin = dialogbotBinary(c.t)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"SLACK_BOT_TOKEN=" + botToken,
		"SLACK_APP_TOKEN=" + appToken,
		"SLACK_API_URL=" + c.slack.APIURL(),
		"DIALOGTECH_ACCESS_KEY=" + dtAccess,
		"DIALOGTECH_SECRET_ACCESS_KEY=" + dtSecret,
		"DIALOGTECH_BASE_URL=" + c.simURL,
		"DATABASE_URL=" + c.dbURL,
		"APPROVERS=" + approverA + "," + approverB,
		"HTTP_ADDR=127.0.0.1:0",
		"LOG_LEVEL=debug",
		"LOG_FORMAT=json",
	}
	env = append(env, extra...)
	for range n {
		r := &replica{name: fmt.Sprintf("replica %d", len(c.replicas)+1), stderr: &testlog.Buffer{}, done: make(chan struct{})}
		r.cmd = exec.Command(bin, "serve")
		r.cmd.Env = env
		r.cmd.Stdout = r.stderr
		r.cmd.Stderr = r.stderr
		if err := r.cmd.Start(); err != nil {
			c.t.Fatalf("start %s: %v", r.name, err)
		}
		go func() {
			r.err = r.cmd.Wait()
			close(r.done)
		}()
		c.replicas = append(c.replicas, r)
		c.t.Cleanup(func() { c.stop(r) })
	}
	ctx, cancel := context.WithTimeout(c.t.Context(), 60*time.Second)
	defer cancel()
	if err := c.slack.WaitConnections(ctx, len(c.live())); err != nil {
		for _, r := range c.replicas {
			c.t.Logf("%s output:\n%s", r.name, r.stderr.String())
		}
		c.t.Fatalf("replicas did not connect: %v", err)
	}
	for _, r := range c.live() {
		c.waitReady(ctx, r)
	}
}

// waitReady waits until r's /readyz answers 200: the program serves
// HTTP_ADDR, and finds its store and its Socket Mode connection healthy.
func (c *cluster) waitReady(ctx context.Context, r *replica) {
	c.t.Helper()
	var last string
	for {
		if addr := opsAddr(r.stderr.String()); addr != "" {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
				last = fmt.Sprintf("%d %s", resp.StatusCode, body)
			} else {
				last = err.Error()
			}
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("%s: /readyz not ready (last: %q)\n%s", r.name, last, r.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// opsAddr is the address a replica logged for /healthz, /readyz and
// /metrics, or "".
func opsAddr(logs string) string {
	for line := range strings.SplitSeq(logs, "\n") {
		var l struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &l) == nil && strings.HasPrefix(l.Msg, "serving /healthz") {
			return l.Addr
		}
	}
	return ""
}

func (c *cluster) live() []*replica {
	var out []*replica
	for _, r := range c.replicas {
		if !r.killed {
			out = append(out, r)
		}
	}
	return out
}

// stop ends r as a service manager would, with SIGTERM, and expects a
// clean exit. Whatever happened, r's output must not hold a secret; when
// the test failed, it is shown.
func (c *cluster) stop(r *replica) {
	t := c.t
	if !r.exited() {
		if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM %s: %v", r.name, err)
		}
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			r.cmd.Process.Kill()
			<-r.done
			t.Errorf("%s did not stop within 30s of SIGTERM", r.name)
		}
		if r.err != nil {
			t.Errorf("%s exited with %v after SIGTERM, want status 0", r.name, r.err)
		}
	} else if !r.killed {
		t.Errorf("%s exited before the test stopped it: %v", r.name, r.err)
	}
	out := r.stderr.String()
	for _, secret := range []string{botToken, appToken, dtSecret} {
		if strings.Contains(out, secret) {
			t.Errorf("%s's output contains a secret (%.8s...)", r.name, secret)
		}
	}
	if t.Failed() {
		t.Logf("%s (pid %d) output:\n%s", r.name, r.pid(), out)
	}
}

// byPID finds the replica with a process id.
func (c *cluster) byPID(pid int) *replica {
	for _, r := range c.replicas {
		if r.pid() == pid {
			return r
		}
	}
	return nil
}

// ctx is a context for one wait of the test.
func (c *cluster) ctx(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(c.t.Context(), d)
	c.t.Cleanup(cancel)
	return ctx
}

// leaseHolder returns the process that holds the alert schedule, waiting
// up to d for one to take it.
func (c *cluster) leaseHolder(d time.Duration) *replica {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		var holder string
		err := c.db.QueryRow(c.t.Context(), `SELECT holder FROM leases WHERE name = 'alerts.schedule'`).Scan(&holder)
		switch {
		case err == nil:
			// The holder is host/pid/random.
			parts := strings.Split(holder, "/")
			pid, perr := strconv.Atoi(parts[max(len(parts)-2, 0)])
			r := c.byPID(pid)
			if perr != nil || r == nil {
				c.t.Fatalf("lease holder %q is none of the replicas", holder)
			}
			return r
		case !errors.Is(err, sql.ErrNoRows):
			// The table appears with the first migration run; until then
			// the query fails.
			if time.Now().After(deadline) {
				c.t.Fatalf("read the lease: %v", err)
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no replica took the alert schedule within %s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logLines counts the lines of r's log whose message is msg.
func logLines(r *replica, msg string) int {
	return r.stderr.Count(msg)
}
