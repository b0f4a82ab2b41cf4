package analysis

import (
	"errors"
	"strings"
)

// splitWords splits s into words the way the autometrics generator splits directive arguments
// (a POSIX-like shell lexer): blanks separate words; '…' quotes literally; "…" quotes with
// backslash escapes; outside single quotes a backslash makes the next character literal; a '#'
// at the start of a word comments out the rest of the line. On malformed input (an unterminated
// quote or a trailing backslash) it returns the words read so far, the partial one included,
// and an error that says what is wrong.
func splitWords(s string) ([]string, error) {
	var (
		words  []string
		word   strings.Builder
		inWord bool
	)
	flush := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			flush()
		case c == '#' && !inWord:
			return words, nil
		case c == '\\':
			if i+1 >= len(s) {
				flush()
				return words, errors.New("the arguments end with a lone backslash")
			}
			inWord = true
			i++
			word.WriteByte(s[i])
		case c == '\'':
			inWord = true
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				word.WriteString(s[i+1:])
				flush()
				return words, errors.New("a single quote (') is not closed")
			}
			word.WriteString(s[i+1 : i+1+end])
			i += 1 + end
		case c == '"':
			inWord = true
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				word.WriteByte(s[i])
			}
			if !closed {
				flush()
				return words, errors.New(`a double quote (") is not closed`)
			}
		default:
			inWord = true
			word.WriteByte(c)
		}
	}
	flush()
	return words, nil
}
