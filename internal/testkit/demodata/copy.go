package demodata

import (
	"io/fs"
	"os"
	"path/filepath"
)

// CopyTree copies the directories and regular files under src to dst, for tests that edit a
// copy of the demo module (or of its autometrics-go stand-in) instead of testdata itself.
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}
