-- Mail off the request path: a change that causes mail keeps it here in its own transaction,
-- and a worker sends it after the commit, with retries. A mail is due from next_attempt_at; a
-- run that takes it moves next_attempt_at on (its lease), so a process that dies mid-send leaves
-- the mail to be taken again. A sent mail is deleted.
CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT,
    -- A verification mail holds no token: this names its token row, and the worker gives the row
    -- a fresh token as it sends (the body and link hold a stand-in for it).
    token_hash BLOB,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_at, id);
