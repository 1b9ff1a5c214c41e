-- A notice Slack did not take (it refused it, or its answer was lost) is
-- due again: its claim is released and it waits here, with the alert state
-- it was drawn from, until a run sends it. (key, episode, claim) is the
-- notice's claim in notification_claims.
CREATE TABLE notices_due (
    key      TEXT    NOT NULL,
    episode  INTEGER NOT NULL,
    claim    TEXT    NOT NULL,
    notice   TEXT    NOT NULL,
    state    BLOB,
    attempts INTEGER NOT NULL,
    lost     INTEGER NOT NULL,
    next_at  INTEGER NOT NULL,
    PRIMARY KEY (key, episode, claim)
) STRICT;
