-- Times are Unix microseconds in UTC; NULL means "not set".

CREATE TABLE requests (
    id           TEXT    NOT NULL PRIMARY KEY,
    kind         TEXT    NOT NULL,
    params       BLOB,
    summary      TEXT    NOT NULL,
    requester_id TEXT    NOT NULL,
    channel_id   TEXT    NOT NULL,
    message_ts   TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'executing', 'succeeded', 'failed', 'unknown', 'denied', 'expired', 'cancelled')),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    decided_by   TEXT    NOT NULL,
    decided_at   INTEGER,
    reason       TEXT    NOT NULL,
    outcome      BLOB,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX requests_by_created ON requests (created_at DESC, id DESC);
CREATE INDEX requests_by_state ON requests (state, created_at DESC, id DESC);
CREATE INDEX requests_pending_by_expiry ON requests (expires_at) WHERE state = 'pending';

-- AUTOINCREMENT so that an id is never reused, even after the newest row
-- is gone: the id is the log's order.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    request_id TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    detail     TEXT    NOT NULL
) STRICT;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE alert_states (
    key            TEXT    NOT NULL PRIMARY KEY,
    state          TEXT    NOT NULL,
    episode        INTEGER NOT NULL,
    channel_id     TEXT    NOT NULL,
    message_ts     TEXT    NOT NULL,
    last_posted_at INTEGER,
    snoozed_by     TEXT    NOT NULL,
    snoozed_until  INTEGER,
    failures       INTEGER NOT NULL,
    data           BLOB,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE notification_claims (
    key        TEXT    NOT NULL,
    episode    INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    claimed_at INTEGER NOT NULL,
    PRIMARY KEY (key, episode, state)
) STRICT;

CREATE TABLE usage_samples (
    item_id INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    in_use  INTEGER NOT NULL,
    total   INTEGER NOT NULL,
    PRIMARY KEY (item_id, at)
) STRICT;

CREATE INDEX usage_samples_by_at ON usage_samples (at);

CREATE TABLE kv (
    key        TEXT    NOT NULL PRIMARY KEY,
    value      BLOB,
    updated_at INTEGER NOT NULL
) STRICT;
