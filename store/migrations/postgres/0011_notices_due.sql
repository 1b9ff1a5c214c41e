-- A notice Slack did not take (it refused it, or its answer was lost) is
-- due again: its claim is released and it waits here, with the alert state
-- it was drawn from, until a run sends it. (key, episode, claim) is the
-- notice's claim in notification_claims.
CREATE TABLE notices_due (
    key      text        NOT NULL,
    episode  bigint      NOT NULL,
    claim    text        NOT NULL,
    notice   text        NOT NULL,
    state    bytea,
    attempts integer     NOT NULL,
    lost     integer     NOT NULL,
    next_at  timestamptz NOT NULL,
    PRIMARY KEY (key, episode, claim)
);
