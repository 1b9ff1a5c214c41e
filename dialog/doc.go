// Package dialog is a client for DialogTech's administration API
// (https://secure.dialogtech.com/ibp_api.php): listing and buying add-ons,
// ordering tracking numbers and ringing a phone into a Virtual Receptionist.
//
// Every call is an HTTP GET whose query string carries the account's secret
// key, so the full request URL is itself a secret: nothing this package
// returns or logs contains it. Buying calls (PurchaseAddOn, OrderNumbers)
// are sent at most once; when their answer is lost the error satisfies
// errors.Is(err, ErrUnknownOutcome).
package dialog
