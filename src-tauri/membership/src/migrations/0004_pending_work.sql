-- Pending work never rots. An association request may now be `expired`, and a pending one
-- carries its deadline (`expires_at`), how many reminders its approvers have had (0, 1 at
-- halfway, 2 one day before), when it was escalated to the Global Administrators, and when the
-- scheduler next has something to do with it (`next_step_at`). Requests pending before this
-- migration get their deadline from the scheduler's first pass (from the programme's settings,
-- never less than two days away), so nobody's request expires unannounced.
-- The table is rebuilt (a CHECK cannot be altered); rowids are kept, so queue cursors stay valid.
-- The migration runs with foreign keys off and checks them before it commits.
CREATE TABLE association_requests_v4 (
    id                   TEXT PRIMARY KEY,
    organisation_id      TEXT NOT NULL REFERENCES organisations(id),
    account_id           TEXT NOT NULL REFERENCES accounts(id),
    first_name           TEXT NOT NULL,
    last_name            TEXT NOT NULL,
    organisation_email   TEXT NOT NULL,
    phone                TEXT,
    job_title            TEXT,
    status               TEXT NOT NULL CHECK (status IN ('pending_approval','accepted','denied','withdrawn','active','removed','expired')),
    created_at           INTEGER NOT NULL,
    decided_at           INTEGER,
    decided_by           TEXT REFERENCES accounts(id),
    decision_reason      TEXT,
    membership_id        TEXT,
    verification_sent_at INTEGER,
    expires_at           INTEGER,
    reminders_sent       INTEGER NOT NULL DEFAULT 0,
    escalated_at         INTEGER,
    next_step_at         INTEGER,
    on_behalf_of         TEXT REFERENCES accounts(id)
) STRICT;
INSERT INTO association_requests_v4(rowid, id, organisation_id, account_id, first_name, last_name,
        organisation_email, phone, job_title, status, created_at, decided_at, decided_by,
        decision_reason, membership_id, verification_sent_at, next_step_at)
    SELECT rowid, id, organisation_id, account_id, first_name, last_name, organisation_email,
           phone, job_title, status, created_at, decided_at, decided_by, decision_reason,
           membership_id, verification_sent_at,
           CASE WHEN status = 'pending_approval' THEN unixepoch() END
    FROM association_requests;
DROP TABLE association_requests;
ALTER TABLE association_requests_v4 RENAME TO association_requests;
CREATE UNIQUE INDEX association_requests_open ON association_requests(organisation_id, account_id)
    WHERE status IN ('pending_approval', 'accepted');
CREATE INDEX association_requests_queue ON association_requests(organisation_id, status, created_at);
CREATE INDEX association_requests_account ON association_requests(account_id);
CREATE INDEX association_requests_due ON association_requests(next_step_at)
    WHERE next_step_at IS NOT NULL;

-- A privilege request ends when it is granted, when it expires or when its member leaves. Open
-- requests from before this migration get their deadline as association requests do.
ALTER TABLE privilege_requests ADD COLUMN expires_at INTEGER;
ALTER TABLE privilege_requests ADD COLUMN ended_at INTEGER;
ALTER TABLE privilege_requests ADD COLUMN end_reason TEXT
    CHECK (end_reason IN ('expired', 'member_left'));
CREATE INDEX privilege_requests_due ON privilege_requests(expires_at) WHERE ended_at IS NULL;

-- Reminders and escalations reach each approver's mail as one digest a day at most: the lines
-- wait in `digest_lines` until the account's digest is next due.
CREATE TABLE approver_digests (
    account_id   TEXT PRIMARY KEY REFERENCES accounts(id),
    last_sent_at INTEGER
) STRICT;
CREATE TABLE digest_lines (
    seq        INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    line       TEXT NOT NULL,
    at         INTEGER NOT NULL
) STRICT;
CREATE INDEX digest_lines_account ON digest_lines(account_id, seq);
