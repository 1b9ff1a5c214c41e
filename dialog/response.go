package dialog

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// envelope is the shape every XML answer shares:
//
//	<?xml ...?><!DOCTYPE response [...]><response><result>…</result>
//	<result_description>…</result_description>[<data>…</data>]</response>
//
// encoding/xml hands the inline DOCTYPE to Unmarshal as a Directive, which
// it skips; the decoder stays Strict, so a body that is not well-formed XML
// is refused rather than guessed at.
type envelope struct {
	XMLName     xml.Name    `xml:"response"`
	Result      *string     `xml:"result"`
	Description description `xml:"result_description"`
	Data        *struct {
		AddOns []xmlAddOn `xml:"addon"`
	} `xml:"data"`
}

// description is result_description: plain text for most answers, child
// elements for numbers.order.
type description struct {
	Text     string  `xml:",chardata"`
	Quantity *string `xml:"quantity"`
	Numbers  *struct {
		Number []string `xml:"number"`
	} `xml:"numbers"`
}

// scrubber removes the secret from text that came from outside. The
// exported decoders know no secret and use keep; the Client passes its own.
type scrubber func(string) string

func keep(s string) string { return s }

// text is a field value as returned to callers: scrubbed and trimmed.
func (sc scrubber) text(s string) string { return strings.TrimSpace(sc(s)) }

// errText is outside text put into an error: scrubbed before it is clipped,
// so that clipping cannot leave part of a secret behind.
func (sc scrubber) errText(s string) string {
	return clip(strings.TrimSpace(sc(s)), maxErrorTextBytes)
}

// quoted shows a bad value in a reason without letting it grow the error.
func (sc scrubber) quoted(s string) string {
	return fmt.Sprintf("%q", clip(strings.TrimSpace(sc(s)), 40))
}

// decodeEnvelope parses an XML answer and checks its result. It returns
// *MalformedResponseError when the body is not the documented shape and
// *APIError when result is not "success".
func decodeEnvelope(action string, body []byte, sc scrubber) (*envelope, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &MalformedResponseError{Action: action, Reason: "empty body"}
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.CharsetReader = charsetReader
	var env envelope
	if err := d.Decode(&env); err != nil {
		return nil, &MalformedResponseError{Action: action, Reason: "not the documented XML: " + sc.errText(err.Error())}
	}
	if env.Result == nil {
		return nil, &MalformedResponseError{Action: action, Reason: "no <result> element"}
	}
	result := strings.TrimSpace(*env.Result)
	if result == "" {
		return nil, &MalformedResponseError{Action: action, Reason: "empty <result>"}
	}
	if result != "success" {
		return nil, &APIError{Action: action, Result: sc.errText(result), Description: sc.errText(env.Description.Text)}
	}
	return &env, nil
}

// charsetReader accepts the one legacy encoding a PHP service is likely to
// declare. encoding/xml handles UTF-8 itself.
func charsetReader(label string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii":
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(b))
		for _, c := range b {
			out = utf8.AppendRune(out, rune(c))
		}
		return bytes.NewReader(out), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", clip(label, 40))
}

// DecodeResult decodes the answer of an action that returns only a result:
// addons.purchase (XML, the description is result_description) and
// clickto.vr, whose one documented success is the plain text
// "Call Connected".
func DecodeResult(action string, body []byte) (description string, err error) {
	return decodeResult(action, body, keep)
}

func decodeResult(action string, body []byte, sc scrubber) (string, error) {
	if action == ActionClickToVR {
		return decodeClickTo(body, sc)
	}
	env, err := decodeEnvelope(action, body, sc)
	if err != nil {
		return "", err
	}
	return sc.text(env.Description.Text), nil
}

const callConnected = "Call Connected"

// decodeClickTo accepts only the documented success text. A failure in the
// XML envelope keeps DialogTech's own result and description; any other
// text is shown to the person as DialogTech's reason.
func decodeClickTo(body []byte, sc scrubber) (string, error) {
	text := strings.TrimSpace(string(body))
	if text == callConnected {
		return callConnected, nil
	}
	if strings.HasPrefix(text, "<") {
		_, err := decodeEnvelope(ActionClickToVR, body, sc)
		var ae *APIError
		if errors.As(err, &ae) {
			return "", err
		}
		if err == nil {
			return "", &MalformedResponseError{Action: ActionClickToVR, Reason: `XML success instead of the documented text "Call Connected"`}
		}
	}
	return "", &APIError{Action: ActionClickToVR, Result: "failed", Description: sc.errText(text)}
}
