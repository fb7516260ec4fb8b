package main

import (
	"errors"
	"os/exec"
	"strings"
)

// splitCommand splits the command line of --token-exec into its program and
// arguments as a POSIX shell splits words, without a shell: words are
// separated by blanks; single quotes keep everything between them; double
// quotes keep everything but a backslash before ", \, $ or `; outside
// quotes a backslash keeps the next character. Nothing is expanded: a
// variable, a glob, a pipe or a redirection would need a shell, so the
// characters that start one ($ ` | & ; < > ( ) outside quotes) are refused
// with an error that says so, rather than passed on as arguments the user
// did not mean.
func splitCommand(line string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // a word is open, even an empty one ('')
	)
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case r == '\'':
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j == len(rs) {
				return nil, errors.New("a single quote is not closed")
			}
			cur.WriteString(string(rs[i+1 : j]))
			in, i = true, j
		case r == '"':
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) && strings.ContainsRune("\"\\$`", rs[j+1]) {
					j++
				}
				cur.WriteRune(rs[j])
			}
			if j == len(rs) {
				return nil, errors.New("a double quote is not closed")
			}
			in, i = true, j
		case r == '\\':
			if i+1 == len(rs) {
				return nil, errors.New("it ends with a backslash")
			}
			i++
			cur.WriteRune(rs[i])
			in = true
		case strings.ContainsRune("$`|&;<>()", r):
			return nil, errors.New("`" + string(r) + "` needs a shell, and the command runs without one: quote it, or put the pipeline in a script and give the script's path")
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, errors.New("must name a command")
	}
	return words, nil
}

// checkProgram checks the first word of --token-exec before any token is
// asked for: empty, or not an executable file (in PATH, or at the path it
// gives), it is refused. The error never quotes the word: a token given to
// --token-exec by mistake (for --token-env) would otherwise be printed.
func checkProgram(program string) error {
	if program == "" {
		return errors.New("its first word, the program, is empty")
	}
	if _, err := exec.LookPath(program); err != nil {
		if strings.ContainsRune(program, '/') {
			return errors.New("its first word, the program, is not an executable file at the path it gives")
		}
		return errors.New("its first word, the program, is not an executable file in PATH (give its path, or the token itself with --token-env)")
	}
	return nil
}
