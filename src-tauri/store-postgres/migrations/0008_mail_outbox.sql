-- Mail off the request path, as on SQLite (membership's 0007_mail_outbox.sql): a change that
-- causes mail keeps it here in its own transaction; a worker on any instance sends it after the
-- commit, with retries. A run that takes a mail moves next_attempt_at on (its lease), so an
-- instance that dies mid-send leaves it to another. A sent mail is deleted.
CREATE TABLE mail_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at      bigint NOT NULL,
    to_addr         text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    link            text,
    -- A verification mail holds no token: this names its token row, and the worker gives the row
    -- a fresh token as it sends (the body and link hold a stand-in for it).
    token_hash      bytea,
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at bigint NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_at, id);
