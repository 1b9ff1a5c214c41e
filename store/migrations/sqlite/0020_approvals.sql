-- How many approvers a request needs, and whether its reminder went out
-- (reminded_at: NULL until one replica claims it). A request without a row
-- needs one approval. Times are Unix microseconds (UTC).
CREATE TABLE request_rules (
    request_id       TEXT    NOT NULL PRIMARY KEY,
    approvals_needed INTEGER NOT NULL CHECK (approvals_needed >= 1),
    reminded_at      INTEGER
) STRICT;

-- One row per approver who approved a request that needs more than one:
-- the key makes a second click by the same approver count once.
CREATE TABLE request_approvals (
    request_id  TEXT    NOT NULL,
    approver_id TEXT    NOT NULL,
    approved_at INTEGER NOT NULL,
    PRIMARY KEY (request_id, approver_id)
) STRICT;
