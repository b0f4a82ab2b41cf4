module example.com/brokenmod

go 1.22

require (
	this line is not a valid requirement
