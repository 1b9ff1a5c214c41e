package dialogsim

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func getRequest(rawQuery string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/ibp_api.php", nil)
	req.URL.RawQuery = rawQuery
	return req
}

// FuzzServeHTTP feeds arbitrary query strings and form bodies to the
// handler: it must never panic, always answer 200, and answer either the
// plain-text success of clickto.vr or a well-formed result document.
func FuzzServeHTTP(f *testing.F) {
	keys := "access_key=" + DefaultAccessKey + "&secret_access_key=" + DefaultSecretKey
	for _, q := range []string{
		"",
		"action=addons.list&" + keys,
		"action=addons.purchase&item_id=6&qty=2&" + keys,
		"action=addons.purchase&item_id=99999999999999999999&qty=-1&" + keys,
		"action=numbers.order&type=local&search=415&quantity=3&fill_quantity=1&" + keys,
		"action=numbers.order&type=local&search=415333&quantity=25&fill_quantity=0&allow_overlay=1&sms_supported=1&" + keys,
		"action=numbers.order&type=tollfree&quantity=25&fill_quantity=0&order_slot=1&" + keys,
		"action=numbers.order&type=canadian_local&search=416&quantity=0&fill_quantity=1&distance=1.5&" + keys,
		"action=clickto.vr&menu_id=1&phone_to_call=5551112222&" + keys,
		"action=clickto.vr&menu_id=%zz&phone_to_call=;&" + keys,
		"action=numbers.order&action=addons.list&type=local&type=&search=%00%00%00&" + keys,
	} {
		f.Add(q, "")
	}
	f.Add("", "action=addons.purchase&item_id=6&qty=1&"+keys)

	f.Fuzz(func(t *testing.T, rawQuery, body string) {
		sim := New(WithSeed(1), WithInventory(5))
		req := getRequest(rawQuery)
		if body != "" {
			req = httptest.NewRequest(http.MethodPost, "/ibp_api.php", strings.NewReader(body))
			req.URL.RawQuery = rawQuery
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := newRecorder()
		sim.ServeHTTP(rec, req)

		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		got := rec.Body.String()
		if got == "Call Connected" {
			return
		}
		var r xmlResponse
		if err := xml.Unmarshal([]byte(got), &r); err != nil {
			t.Fatalf("answer is not XML: %v\n%s", err, got)
		}
		if r.Result != "success" && r.Result != "failed" {
			t.Fatalf("result %q", r.Result)
		}
		if strings.Contains(got, DefaultSecretKey) {
			t.Fatalf("answer echoes the secret key:\n%s", got)
		}
		if sim.CallCount("") != 1 {
			t.Fatalf("%d calls logged for one request", sim.CallCount(""))
		}
	})
}

// FuzzValidDistance checks validDistance against the pattern it stands for.
func FuzzValidDistance(f *testing.F) {
	for _, d := range []string{"", "0", "12.5", "123456.123456", "1234567", "1.", ".5", "1.2.3", "12\n", "١٢"} {
		f.Add(d)
	}
	re := regexp.MustCompile(`^[0-9]{1,6}(\.[0-9]{1,6})?$`)
	f.Fuzz(func(t *testing.T, d string) {
		if got, want := validDistance(d), re.MatchString(d); got != want {
			t.Errorf("validDistance(%q) = %v, want %v", d, got, want)
		}
	})
}
