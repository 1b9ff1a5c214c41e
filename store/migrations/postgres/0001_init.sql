-- NULL times mean "not set". Raw JSON is kept as bytea so that it comes
-- back byte for byte and a malformed outcome can still be recorded.

CREATE TABLE requests (
    id           text        NOT NULL PRIMARY KEY,
    kind         text        NOT NULL,
    params       bytea,
    summary      text        NOT NULL,
    requester_id text        NOT NULL,
    channel_id   text        NOT NULL,
    message_ts   text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('pending', 'executing', 'succeeded', 'failed', 'unknown', 'denied', 'expired', 'cancelled')),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    decided_by   text        NOT NULL,
    decided_at   timestamptz,
    reason       text        NOT NULL,
    outcome      bytea,
    updated_at   timestamptz NOT NULL
);

CREATE INDEX requests_by_created ON requests (created_at DESC, id DESC);
CREATE INDEX requests_by_state ON requests (state, created_at DESC, id DESC);
CREATE INDEX requests_pending_by_expiry ON requests (expires_at) WHERE state = 'pending';

CREATE TABLE audit_log (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    request_id text        NOT NULL,
    actor      text        NOT NULL,
    event      text        NOT NULL,
    detail     text        NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE alert_states (
    key            text        NOT NULL PRIMARY KEY,
    state          text        NOT NULL,
    episode        bigint      NOT NULL,
    channel_id     text        NOT NULL,
    message_ts     text        NOT NULL,
    last_posted_at timestamptz,
    snoozed_by     text        NOT NULL,
    snoozed_until  timestamptz,
    failures       integer     NOT NULL,
    data           bytea,
    updated_at     timestamptz NOT NULL
);

CREATE TABLE notification_claims (
    key        text        NOT NULL,
    episode    bigint      NOT NULL,
    state      text        NOT NULL,
    claimed_at timestamptz NOT NULL,
    PRIMARY KEY (key, episode, state)
);

CREATE TABLE usage_samples (
    item_id integer     NOT NULL,
    at      timestamptz NOT NULL,
    in_use  integer     NOT NULL,
    total   integer     NOT NULL,
    PRIMARY KEY (item_id, at)
);

CREATE INDEX usage_samples_by_at ON usage_samples (at);

CREATE TABLE kv (
    key        text        NOT NULL PRIMARY KEY,
    value      bytea,
    updated_at timestamptz NOT NULL
);
