-- A privilege request's approvers are reminded halfway and one day before its deadline, as an
-- association request's are: how many reminders went out, and when the scheduler next has
-- something to do with it. Open requests from before this migration are due at their halfway
-- point (at the scheduler's next pass when it has gone by), so none expires unannounced; one
-- with no deadline yet is due at once, as before.
ALTER TABLE privilege_requests
    ADD COLUMN reminders_sent integer NOT NULL DEFAULT 0 CHECK (reminders_sent BETWEEN 0 AND 2),
    ADD COLUMN next_step_at bigint;
DROP INDEX privilege_requests_due;
CREATE INDEX privilege_requests_due ON privilege_requests((coalesce(next_step_at, expires_at)))
    WHERE ended_at IS NULL;
UPDATE privilege_requests SET next_step_at = created_at + (expires_at - created_at) / 2
    WHERE ended_at IS NULL AND expires_at IS NOT NULL;
