package shop

import (
	"context"
	"errors"
)

// Checkout charges the basket.
func Checkout(ctx context.Context, total int) error {
	if total < 0 {
		return errors.New("negative total")
	}
	return nil
}
