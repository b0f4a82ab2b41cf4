// Package echo is a stand-in for github.com/labstack/echo/v4 with the one method the
// autometrics generator's statements call, with its real signature.
package echo

// Context is the request context of an echo handler.
type Context interface {
	// Get returns the value stored under key.
	Get(key string) interface{}
}
