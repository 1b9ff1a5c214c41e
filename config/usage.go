package config

import (
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"text/template"

	"github.com/kelseyhightower/envconfig"
)

// usageFormat is a table of envconfig's own view of Config. A setting
// without a default shows what being unset means ("required for serve").
const usageFormat = `VARIABLE	DEFAULT	MEANING
{{range .}}{{.Key}}	{{shown (.Tags.Get "default") (.Tags.Get "unset")}}	{{.Tags.Get "desc"}}
{{end}}`

// usageTemplate is parsed when `dialogbot env` first asks for it, not at
// every start.
var usageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("usage").Funcs(template.FuncMap{
		"shown": func(def, unset string) string {
			if def == "" {
				return unset
			}
			// A default with spaces ("*/15 * * * *") would blur into the
			// columns beside it.
			if strings.ContainsRune(def, ' ') {
				return `"` + def + `"`
			}
			return def
		},
	}).Parse(usageFormat))
})

// Usage writes every setting with its default and meaning as an aligned
// table; it is what `dialogbot env` prints.
func Usage(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if err := envconfig.Usaget("", &Config{}, tw, usageTemplate()); err != nil {
		return err
	}
	return tw.Flush()
}
