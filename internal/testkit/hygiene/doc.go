// Package hygiene holds no code: its test checks that test runs clean up after themselves
// (temporary files and directories, and the processes they start: editors, servers, the go
// command's children).
package hygiene
