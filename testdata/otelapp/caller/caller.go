// Package caller calls the shop from another package.
package caller

import (
	"context"

	"example.com/otelapp/shop"
)

// Buy checks out.
func Buy(ctx context.Context) error {
	return shop.Checkout(ctx, false)
}
