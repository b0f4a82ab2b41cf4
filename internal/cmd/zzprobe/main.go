package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
)

func main() {
	l := &analysis.Loader{CacheDir: os.Args[1], Timeout: 5 * time.Minute}
	file := os.Args[2]
	src, _ := os.ReadFile(file)
	for i := 0; i < 6; i++ {
		ov := map[string][]byte{file: append(append([]byte{}, src...), fmt.Sprintf("\nvar _ = %d\n", i)...)}
		t0 := time.Now()
		pkgs, err := l.Load(context.Background(), []string{file}, ov)
		fmt.Println(i, time.Since(t0), err, pkgs[0].Path, pkgs[0].Degraded, len(pkgs[0].Errors))
	}
}
