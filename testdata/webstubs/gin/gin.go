// Package gin is a stand-in for github.com/gin-gonic/gin with the one method the autometrics
// generator's statements call, with its real signature.
package gin

// Context is the request context of a gin handler.
type Context struct{ keys map[string]any }

// GetString returns the value stored under key if it is a string, else "".
func (c *Context) GetString(key string) (s string) {
	s, _ = c.keys[key].(string)
	return s
}
