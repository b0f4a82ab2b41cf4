module github.com/autometrics-dev/autometrics-go

go 1.22
