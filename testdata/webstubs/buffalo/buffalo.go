// Package buffalo is a stand-in for github.com/gobuffalo/buffalo: its Context embeds
// context.Context, as the real one does.
package buffalo

import "context"

// Context is the request context of a buffalo handler.
type Context interface {
	context.Context
	// Param returns the named request parameter.
	Param(name string) string
}
