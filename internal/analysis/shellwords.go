package analysis

import "strings"

// splitWords splits s into words the way the autometrics generator splits directive arguments
// (a POSIX-like shell lexer): blanks separate words; '…' quotes literally; "…" quotes with
// backslash escapes; outside single quotes a backslash makes the next character literal; a '#'
// at the start of a word comments out the rest of the line. On malformed input (an unterminated
// quote or a trailing backslash) it returns the words read so far, the partial one included,
// and an error that says what is wrong.
func splitWords(s string) ([]string, error) {
	spans, err := splitWordSpans(s)
	var words []string
	for _, w := range spans {
		words = append(words, w.text)
	}
	return words, err
}

// word is one word of a directive's arguments: its text after unquoting, and the byte range
// [start, end) of its source (quotes included) in the string that was split.
type word struct {
	text       string
	start, end int
}

// lexError is a malformed-quoting error of splitWordSpans, with the byte offset where the
// offending quote or backslash begins.
type lexError struct {
	msg    string
	offset int
}

func (e *lexError) Error() string { return e.msg }

// splitWordSpans is splitWords with the source range of every word. Its error, when not nil, is
// a *lexError.
func splitWordSpans(s string) ([]word, error) {
	var (
		words  []word
		text   strings.Builder
		inWord bool
		start  int
	)
	begin := func(i int) {
		if !inWord {
			inWord, start = true, i
		}
	}
	flush := func(end int) {
		if inWord {
			words = append(words, word{text.String(), start, end})
			text.Reset()
			inWord = false
		}
	}
	fail := func(msg string, offset int) ([]word, error) {
		flush(len(s))
		return words, &lexError{msg, offset}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			flush(i)
		case c == '#' && !inWord:
			return words, nil
		case c == '\\':
			if i+1 >= len(s) {
				return fail("the arguments end with a lone backslash", i)
			}
			begin(i)
			i++
			text.WriteByte(s[i])
		case c == '\'':
			begin(i)
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				text.WriteString(s[i+1:])
				return fail("a single quote (') is not closed", i)
			}
			text.WriteString(s[i+1 : i+1+end])
			i += 1 + end
		case c == '"':
			begin(i)
			open := i
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				text.WriteByte(s[i])
			}
			if !closed {
				return fail(`a double quote (") is not closed`, open)
			}
		default:
			begin(i)
			text.WriteByte(c)
		}
	}
	flush(len(s))
	return words, nil
}
