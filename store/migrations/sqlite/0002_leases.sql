-- A lease names the one process that does a job for a while (e.g. reading
-- DialogTech for the alert schedule). One row per job; AcquireLease takes or
-- renews it in one conditional statement. Times are Unix microseconds (UTC).

CREATE TABLE leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
