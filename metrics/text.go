package metrics

import (
	"math"
	"strconv"
)

// ContentType is the media type of the exposition: the Prometheus text
// format, version 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// desc names a family: its name, HELP text and TYPE.
type desc struct {
	name, help, typ string
}

func (d *desc) describe() *desc { return d }

// A family is one metric family of the exposition. write writes its
// samples; a family that writes none is left out, HELP and TYPE included.
type family interface {
	describe() *desc
	write(w *textWriter, s *snapshot)
}

// textWriter appends an exposition in the text format to buf. The HELP
// and TYPE lines of a family are written with its first sample, so that a
// family without samples leaves nothing.
type textWriter struct {
	buf      []byte
	pending  *desc // family begun, header not yet written
	inLabels bool  // a '{' is open on the current line
}

// begin starts family d.
func (w *textWriter) begin(d *desc) { w.pending = d }

// series starts a sample line of the current family: its name and suffix
// (_bucket, _sum, _count or none).
func (w *textWriter) series(name, suffix string) {
	if d := w.pending; d != nil {
		w.pending = nil
		w.buf = append(w.buf, "# HELP "...)
		w.buf = append(w.buf, d.name...)
		w.buf = append(w.buf, ' ')
		w.buf = appendEscaped(w.buf, d.help, false)
		w.buf = append(w.buf, "\n# TYPE "...)
		w.buf = append(w.buf, d.name...)
		w.buf = append(w.buf, ' ')
		w.buf = append(w.buf, d.typ...)
		w.buf = append(w.buf, '\n')
	}
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, suffix...)
}

// label adds a label pair to the current sample.
func (w *textWriter) label(name, value string) {
	w.labelStart(name)
	w.buf = appendEscaped(w.buf, value, true)
	w.buf = append(w.buf, '"')
}

// labelFloat adds a label pair whose value is a number (le, quantile).
func (w *textWriter) labelFloat(name string, v float64) {
	w.labelStart(name)
	w.buf = appendFloat(w.buf, v)
	w.buf = append(w.buf, '"')
}

func (w *textWriter) labelStart(name string) {
	if w.inLabels {
		w.buf = append(w.buf, ',')
	} else {
		w.buf = append(w.buf, '{')
		w.inLabels = true
	}
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, '=', '"')
}

// value ends the current sample with its value.
func (w *textWriter) value(v float64) {
	if w.inLabels {
		w.buf = append(w.buf, '}')
		w.inLabels = false
	}
	w.buf = append(w.buf, ' ')
	w.buf = appendFloat(w.buf, v)
	w.buf = append(w.buf, '\n')
}

// appendEscaped appends s with backslash and newline escaped, and the
// double quote too in a label value.
func appendEscaped(b []byte, s string, quoted bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '"' && quoted:
			b = append(b, '\\', '"')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat appends v as the Prometheus client libraries write it: the
// shortest representation that reads back as v ('g' format, so 5400 and
// 1.7e+09), and +Inf, -Inf and NaN; negative zero is 0.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case v == 0:
		return append(b, '0')
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
