-- How many approvers a request needs, and whether its reminder went out
-- (reminded_at: NULL until one replica claims it). A request without a row
-- needs one approval.
CREATE TABLE request_rules (
    request_id       text        NOT NULL PRIMARY KEY,
    approvals_needed integer     NOT NULL CHECK (approvals_needed >= 1),
    reminded_at      timestamptz
);

-- One row per approver who approved a request that needs more than one:
-- the key makes a second click by the same approver count once.
CREATE TABLE request_approvals (
    request_id  text        NOT NULL,
    approver_id text        NOT NULL,
    approved_at timestamptz NOT NULL,
    PRIMARY KEY (request_id, approver_id)
);
