module example.com/syntaxerr

go 1.22

require github.com/autometrics-dev/autometrics-go v1.1.0

replace github.com/autometrics-dev/autometrics-go => ../autometrics-go
