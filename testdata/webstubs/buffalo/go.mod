module github.com/gobuffalo/buffalo

go 1.22
