// Package ci tells the tests whether they run in continuous integration, where every real
// component (Prometheus, the OpenTelemetry Collector, Neovim, code-server, the go command) must be
// present: a missing one is a failure there and a skip elsewhere.
package ci

import "os"

// Enabled reports whether the tests run in CI: the environment variable CI is exactly "true", as
// .ci/run and scripts/test export it and common CI services set it. Any other value (unset,
// empty, "false", "1") is a developer's machine.
func Enabled() bool { return os.Getenv("CI") == "true" }
