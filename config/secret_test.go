package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const plain = "xoxb-0000-NOT-FOR-LOGS"

func TestSecretFormatting(t *testing.T) {
	s := Secret(plain)
	type holder struct {
		Name  string
		Token Secret
	}
	h := holder{Name: "bot", Token: s}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"String", s.String(), "[redacted]"},
		{"GoString", s.GoString(), `"[redacted]"`},
		{"%v", fmt.Sprintf("%v", s), "[redacted]"},
		{"%+v", fmt.Sprintf("%+v", s), "[redacted]"},
		{"%#v", fmt.Sprintf("%#v", s), `"[redacted]"`},
		{"%s", fmt.Sprintf("%s", s), "[redacted]"},
		{"%q", fmt.Sprintf("%q", s), `"[redacted]"`},
		{"%x", fmt.Sprintf("%x", s), "[redacted]"},
		{"%X", fmt.Sprintf("%X", s), "[redacted]"},
		{"%d", fmt.Sprintf("%d", s), "[redacted]"},
		{"%12s", fmt.Sprintf("%12s", s), "  [redacted]"},
		{"%-12s|", fmt.Sprintf("%-12s|", s), "[redacted]  |"},
		{"Sprint", fmt.Sprint(s), "[redacted]"},
		{"Sprintln", fmt.Sprintln(s), "[redacted]\n"},
		{"struct %v", fmt.Sprintf("%v", h), "{bot [redacted]}"},
		{"struct %+v", fmt.Sprintf("%+v", h), "{Name:bot Token:[redacted]}"},
		{"struct %#v", fmt.Sprintf("%#v", h), `config.holder{Name:"bot", Token:"[redacted]"}`},
		{"pointer %+v", fmt.Sprintf("%+v", &h), "&{Name:bot Token:[redacted]}"},
		{"slice %v", fmt.Sprintf("%v", []Secret{s, s}), "[[redacted] [redacted]]"},
		{"map %v", fmt.Sprintf("%v", map[string]Secret{"k": s}), "map[k:[redacted]]"},
		{"error %v", fmt.Errorf("token %v rejected", s).Error(), "token [redacted] rejected"},
		{"empty %v", fmt.Sprintf("%v", Secret("")), ""},
		{"empty %s", fmt.Sprintf("%s", Secret("")), ""},
		{"empty %q", fmt.Sprintf("%q", Secret("")), `""`},
		{"empty String", Secret("").String(), ""},
		{"Value", s.Value(), plain},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestSecretEncoding(t *testing.T) {
	s := Secret(plain)
	text, err := s.MarshalText()
	if err != nil || string(text) != "[redacted]" {
		t.Errorf("MarshalText = %q, %v", text, err)
	}
	j, err := json.Marshal(struct {
		Token Secret            `json:"token"`
		Map   map[string]Secret `json:"map"`
	}{s, map[string]Secret{"k": s}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"token":"[redacted]","map":{"k":"[redacted]"}}`; string(j) != want {
		t.Errorf("json = %s, want %s", j, want)
	}
	j, err = json.Marshal(Secret(""))
	if err != nil || string(j) != `""` {
		t.Errorf("json of empty = %s, %v", j, err)
	}
	// The whole Config, as someone might dump it while debugging.
	c := everySettingConfig()
	j, err = json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	dumps := []string{string(j), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)}
	for _, d := range dumps {
		for _, secret := range []string{"xoxb-1-bot", "xapp-1-app", `"secret"`} {
			if strings.Contains(d, secret) {
				t.Errorf("dump of Config contains %s:\n%s", secret, d)
			}
		}
	}
}

func TestSecretInLogs(t *testing.T) {
	s := Secret(plain)
	type holder struct {
		Token Secret
	}
	for _, handler := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
	} {
		t.Run(handler.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(handler.new(&buf))
			log.Info("starting", "token", s)
			log.Info("starting", slog.Any("token", s))
			log.Info("starting", slog.Any("holder", holder{s}))
			log.Info("starting", slog.Any("ptr", &holder{s}))
			log.Info("starting", slog.Group("g", "token", s))
			log.With("token", s).Info("starting")
			log.Info("starting", "config", everySettingConfig())
			out := buf.String()
			if got := strings.Count(out, "\n"); got != 7 {
				t.Fatalf("%d lines, want 7:\n%s", got, out)
			}
			for _, secret := range []string{plain, "xoxb-1-bot", "xapp-1-app"} {
				if strings.Contains(out, secret) {
					t.Errorf("log contains %s:\n%s", secret, out)
				}
			}
			if got := strings.Count(out, "[redacted]"); got < 7 {
				t.Errorf("[redacted] appears %d times, want at least 7:\n%s", got, out)
			}
		})
	}
}

func TestConfigLogValue(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	log.Info("starting", "config", everySettingConfig())
	want := `{"level":"INFO","msg":"starting","config":{` +
		`"SLACK_BOT_TOKEN":"[redacted]","SLACK_APP_TOKEN":"[redacted]","SLACK_API_URL":"http://127.0.0.1:8080/api/",` +
		`"DIALOGTECH_ACCESS_KEY":"access","DIALOGTECH_SECRET_ACCESS_KEY":"[redacted]","DIALOGTECH_BASE_URL":"http://127.0.0.1:8081/ibp_api.php","DIALOGTECH_SANDBOX":true,"ADDONS_CACHE_TTL":"2s",` +
		`"APPROVERS":"U0001,W0002","APPROVER_GROUPS":"S0FIN,S0OPS","ALLOW_SELF_APPROVAL":true,"APPROVAL_TTL":"2h0m0s",` +
		`"SECOND_APPROVAL_ABOVE":"qty:10","APPROVAL_REMIND_AFTER":"0s","GROUP_REFRESH_INTERVAL":"1m0s","CALLERS":"U0001,S0OPS",` +
		`"ALERT_CHANNEL":"C0ALERTS","ALERT_SCHEDULE":"@every 30s","ALERT_THRESHOLD":0.8,"ALERT_REPEAT_INTERVAL":"6h0m0s",` +
		`"ALERT_CRITICAL_THRESHOLD":0.95,"ALERT_RESOLVE_MARGIN":0.1,"ALERT_THRESHOLDS":"3:0.9,6:0.7","ALERT_FORECAST_HORIZON":"48h0m0s","ALERT_ERROR_AFTER":5,"ALERT_LEASE_TTL":"15s",` +
		`"DATABASE_URL":"postgres://bot:xxxxx@127.0.0.1/bot","HTTP_ADDR":":9191",` +
		`"WORKERS":4,"SHUTDOWN_TIMEOUT":"30s","LOG_LEVEL":"debug","LOG_FORMAT":"json"}}` + "\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("log line (-want +got):\n%s", diff)
	}
	for _, secret := range everySettingConfig().Secrets() {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log line contains secret %q", secret)
		}
	}
}
