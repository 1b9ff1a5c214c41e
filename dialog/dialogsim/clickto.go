package dialogsim

import "net/url"

// clickToVR pretends to ring phone_to_call into a Virtual Receptionist. The
// vendor documents only the plain-text success body; a refusal uses the
// failed result every other action answers.
func (s *Sim) clickToVR(params url.Values) reply {
	menu := params.Get("menu_id")
	if menu == "" {
		return failed("menu_id is required")
	}
	s.mu.Lock()
	known := s.menus[menu]
	s.mu.Unlock()
	if !known {
		return failed("unknown menu_id")
	}
	phone := params.Get("phone_to_call")
	if phone == "" {
		return failed("phone_to_call is required")
	}
	if len(phone) < 7 || len(phone) > 15 || !allDigits(phone) {
		return failed("phone_to_call must be 7 to 15 digits")
	}
	return reply{contentType: "text/plain; charset=UTF-8", body: "Call Connected"}
}
