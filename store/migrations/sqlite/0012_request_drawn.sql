-- drawn_version is the version of the request its Slack message last
-- showed: a message behind its request (an update lost, a process killed
-- before it updated the message) is drawn again by the sweep.
ALTER TABLE requests ADD COLUMN drawn_version INTEGER NOT NULL DEFAULT 0;
