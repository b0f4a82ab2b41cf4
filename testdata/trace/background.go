package shop

// Tally counts without a context.
func (inv *Inventory) Tally(skus []string) (n int, err error) {
	for range skus {
		n++
	}
	return n, err
}

// Inventory is a stock.
type Inventory struct{}
