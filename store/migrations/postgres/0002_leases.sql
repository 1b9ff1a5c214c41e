-- A lease names the one process that does a job for a while (e.g. reading
-- DialogTech for the alert schedule). One row per job; AcquireLease takes or
-- renews it in one conditional statement.

CREATE TABLE leases (
    name       text        NOT NULL PRIMARY KEY,
    holder     text        NOT NULL,
    expires_at timestamptz NOT NULL
);
