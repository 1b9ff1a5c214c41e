package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dialogbot/dialogbot/config"
)

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section is the README's text under the heading "## title", up to the
// next heading of that level.
func section(t *testing.T, doc, title string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n## "+title+"\n")
	if !ok {
		t.Fatalf("README has no %q section", title)
	}
	body, _, _ := strings.Cut(rest, "\n## ")
	return body
}

var tableRow = regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\| ([^|]+) \\|")

// TestReadmeSettings: the README's settings table lists exactly the
// variables `dialogbot env` lists, in the same order, with the same
// defaults.
func TestReadmeSettings(t *testing.T) {
	var env bytes.Buffer
	if err := config.Usage(&env); err != nil {
		t.Fatal(err)
	}
	defaults := map[string]string{}
	for _, l := range strings.Split(strings.TrimRight(env.String(), "\n"), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) >= 2 {
			defaults[f[0]] = f[1]
		}
	}

	var names []string
	for _, m := range tableRow.FindAllStringSubmatch(section(t, readme(t), "Settings"), -1) {
		name, def := m[1], strings.TrimSpace(m[2])
		names = append(names, name)
		want, ok := defaults[name]
		if !ok {
			continue // reported by the diff below
		}
		// The README writes `0.9`, env writes 0.9; "required for serve" and
		// "empty ..." are words in both.
		got := strings.Trim(strings.Fields(def)[0], "`")
		want = strings.Trim(want, `"`)
		if !strings.HasPrefix(strings.Trim(def, "`"), want) && got != want {
			t.Errorf("README gives %s the default %q; dialogbot env says %q", name, def, want)
		}
	}
	if diff := cmp.Diff(settings, names); diff != "" {
		t.Errorf("README settings table (-dialogbot env +README):\n%s", diff)
	}
}

var inlineCommand = regexp.MustCompile("`(/(?:addons|numbers|call)[^`]*)`")

// TestReadmeCommands runs every concrete command the README shows (those
// without <placeholders>) in the console against the sandbox, and checks
// that each is understood: none is answered with a usage error.
func TestReadmeCommands(t *testing.T) {
	doc := section(t, readme(t), "Commands")
	var script []string
	seen := map[string]bool{}
	for _, m := range inlineCommand.FindAllStringSubmatch(doc, -1) {
		c := m[1]
		if strings.ContainsAny(c, "<[|") || seen[c] {
			continue
		}
		seen[c] = true
		script = append(script, c)
	}
	if len(script) < 8 {
		t.Fatalf("found only %d concrete commands in the README's Commands section: %q", len(script), script)
	}
	db := "sqlite:" + filepath.Join(t.TempDir(), "readme.db")
	out, _ := runConsoleScript(t, env{"DATABASE_URL": db, "APPROVERS": "U0BOSS"}, strings.Join(script, "\n")+"\n")

	// Split the transcript at each echoed command line.
	replies := map[string]string{}
	var current string
	for _, l := range strings.Split(out, "\n") {
		if _, cmd, ok := strings.Cut(l, "> "); ok && seen[cmd] {
			current = cmd
			continue
		}
		if current != "" {
			replies[current] += l + "\n"
		}
	}
	for _, c := range script {
		r, ok := replies[c]
		switch {
		case !ok:
			t.Errorf("%s: no reply in the transcript", c)
		case strings.Contains(r, "Usage:"), strings.Contains(r, "not something dialogbot knows"):
			t.Errorf("%s is shown in the README but refused:\n%s", c, r)
		}
	}
}
