-- Pending work never rots, as the SQLite store's migration 4: an association request may be
-- `expired`; a pending one carries its deadline, its reminders (0, 1 at halfway, 2 one day
-- before), its escalation and when the scheduler next has something to do with it. Requests
-- pending before this migration get their deadline from the scheduler's first pass.
ALTER TABLE association_requests DROP CONSTRAINT association_requests_status_check;
ALTER TABLE association_requests
    ADD CONSTRAINT association_requests_status_check
        CHECK (status IN ('pending_approval','accepted','denied','withdrawn','active','removed','expired')),
    ADD COLUMN expires_at bigint,
    ADD COLUMN reminders_sent integer NOT NULL DEFAULT 0,
    ADD COLUMN escalated_at bigint,
    ADD COLUMN next_step_at bigint,
    ADD COLUMN on_behalf_of text REFERENCES accounts(id);
UPDATE association_requests SET next_step_at = extract(epoch FROM now())::bigint
    WHERE status = 'pending_approval';
CREATE INDEX association_requests_due ON association_requests(next_step_at)
    WHERE next_step_at IS NOT NULL;

ALTER TABLE privilege_requests
    ADD COLUMN expires_at bigint,
    ADD COLUMN ended_at bigint,
    ADD COLUMN end_reason text CHECK (end_reason IN ('expired', 'member_left'));
CREATE INDEX privilege_requests_due ON privilege_requests(expires_at) WHERE ended_at IS NULL;

CREATE TABLE approver_digests (
    account_id   text PRIMARY KEY REFERENCES accounts(id),
    last_sent_at bigint
);
CREATE TABLE digest_lines (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id text NOT NULL REFERENCES accounts(id),
    line       text NOT NULL,
    at         bigint NOT NULL
);
CREATE INDEX digest_lines_account ON digest_lines(account_id, seq);
