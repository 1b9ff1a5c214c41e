// Package alerts tells a team, once and early, that a DialogTech add-on is
// running out of capacity, in one Slack channel, with the fix one click
// away.
//
// The design follows Prometheus Alertmanager: timing is data (the repeat
// interval, the snooze, the hysteresis margin), the decision of what to say
// is a pure function (Decide) that a table test covers, and a notification
// log (store.ClaimNotification) keeps "post once" true when several
// replicas run the same schedule.
//
// Each add-on has one alert, keyed "addon:<item_id>", that moves through
// ok → warning → critical → resolved. An episode is one stretch of firing:
// it gets exactly one channel message, which is edited in place as it gets
// worse or is snoozed; escalations, reminders and the resolution go into
// that message's thread, so the channel sees one line per episode. A
// separate alert, keyed "read-error", speaks up when addons.list keeps
// failing, because a silent alerter is worse than a noisy one.
//
// A Runner ties it together: each tick reads addons.list once, stores a
// usage sample per add-on (the history behind Forecast), decides, and only
// then talks to Slack. The runner whose state write wins owns the notices
// of that tick; every notice is claimed in the store before it is sent, so
// no notice goes out twice.
package alerts
