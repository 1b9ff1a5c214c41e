-- idem_key is the Slack invocation that opened a request (a slash
-- command's trigger, an alert episode's Request more): a second delivery of
-- it, to any replica, finds the request instead of opening another.
-- same_key is what identical requests share (who, what kind, the exact
-- call); among pending requests it is unique, so the same ask twice points
-- to the first. claim is the token of the approval that won the request;
-- call_sent_at is written, with its audit row, just before the buying
-- call, so a request whose process died before that is known never to have
-- called. version counts the row's writes, so a redraw can tell whether
-- the message it drew is still the newest.
ALTER TABLE requests ADD COLUMN idem_key text;
ALTER TABLE requests ADD COLUMN same_key text;
ALTER TABLE requests ADD COLUMN claim text NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN call_sent_at timestamptz;
ALTER TABLE requests ADD COLUMN version bigint NOT NULL DEFAULT 1;

CREATE UNIQUE INDEX requests_by_idem_key ON requests (idem_key) WHERE idem_key IS NOT NULL;
CREATE UNIQUE INDEX requests_pending_same ON requests (same_key) WHERE state = 'pending' AND same_key IS NOT NULL;
