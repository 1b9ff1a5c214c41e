package app

// OpenAlertLine is openAlertLine, for tests.
var OpenAlertLine = openAlertLine
