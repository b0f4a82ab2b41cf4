package ci

import "testing"

func TestEnabledOnlyForCITrue(t *testing.T) {
	for value, want := range map[string]bool{"true": true, "": false, "false": false, "1": false, "TRUE": false} {
		t.Setenv("CI", value)
		if got := Enabled(); got != want {
			t.Errorf("CI=%q: Enabled() = %v, want %v", value, got, want)
		}
	}
}
