package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// envVar is one environment variable to print.
type envVar struct{ name, value string }

// formats are the output formats of env and serve.
var formats = []string{"sh", "fish", "powershell", "json"}

// checkFormat returns a flagError unless format is one of formats.
func checkFormat(format string) error {
	for _, f := range formats {
		if format == f {
			return nil
		}
	}
	return &flagError{Flag: "--format", Value: format, Rule: "must be one of " + strings.Join(formats, ", ")}
}

// writeEnv prints vars for format: "sh" (POSIX shells: bash, zsh, dash,
// ksh), "fish", "powershell", or "json" (an object of names to values).
// Values are quoted so that the shell reads them back byte for byte,
// whatever they contain.
func writeEnv(w io.Writer, format string, vars []envVar) error {
	var b strings.Builder
	switch format {
	case "sh":
		for _, v := range vars {
			fmt.Fprintf(&b, "export %s=%s\n", v.name, shQuote(v.value))
		}
	case "fish":
		for _, v := range vars {
			fmt.Fprintf(&b, "set -gx %s %s;\n", v.name, fishQuote(v.value))
		}
	case "powershell":
		for _, v := range vars {
			fmt.Fprintf(&b, "$Env:%s = %s\n", v.name, psQuote(v.value))
		}
	case "json":
		m := make(map[string]string, len(vars))
		for _, v := range vars {
			m[v.name] = v.value
		}
		j, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		b.Write(j)
		b.WriteByte('\n')
	default:
		return checkFormat(format)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shQuote quotes s for a POSIX shell: inside single quotes every byte is
// literal; a single quote closes the quoted part, is written as "'" and
// the quoted part reopens.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// fishQuote quotes s for fish: inside single quotes only \\ and \' are
// escapes, everything else, newlines included, is literal.
func fishQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}

// psQuote quotes s for PowerShell: a verbatim single-quoted string, in
// which a quote is doubled. PowerShell also takes the typographic single
// quotes U+2018, U+2019, U+201A and U+201B for quotes, so they are doubled
// too.
func psQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\'', '\u2018', '\u2019', '\u201a', '\u201b':
			b.WriteString(s[i : i+size])
		}
		b.WriteString(s[i : i+size]) // bytes as they are, even when not UTF-8
		i += size
	}
	b.WriteByte('\'')
	return b.String()
}
