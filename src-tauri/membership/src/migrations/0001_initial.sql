-- Partner Desk membership schema, version 1. Times are Unix seconds (UTC).
-- Tokens are stored only as SHA-256 hashes; passwords only as argon2id hashes.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts(id),
    access_hash        BLOB NOT NULL UNIQUE,
    access_expires_at  INTEGER NOT NULL,
    refresh_hash       BLOB NOT NULL UNIQUE,
    refresh_expires_at INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    revoked_at         INTEGER
) STRICT;
CREATE INDEX sessions_account ON sessions(account_id);

-- seq is the FTS rowid; id is the opaque id callers see.
CREATE TABLE organisations (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    partner_id TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    country    TEXT NOT NULL,
    city       TEXT NOT NULL,
    address    TEXT,
    phone      TEXT,
    website    TEXT,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX organisations_place ON organisations(country COLLATE NOCASE, city COLLATE NOCASE, seq);
CREATE INDEX organisations_city ON organisations(city COLLATE NOCASE, seq);

CREATE VIRTUAL TABLE organisations_fts USING fts5(
    name, city, country,
    content = 'organisations', content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE TRIGGER organisations_ai AFTER INSERT ON organisations BEGIN
    INSERT INTO organisations_fts(rowid, name, city, country) VALUES (new.seq, new.name, new.city, new.country);
END;
CREATE TRIGGER organisations_ad AFTER DELETE ON organisations BEGIN
    INSERT INTO organisations_fts(organisations_fts, rowid, name, city, country) VALUES ('delete', old.seq, old.name, old.city, old.country);
END;
CREATE TRIGGER organisations_au AFTER UPDATE ON organisations BEGIN
    INSERT INTO organisations_fts(organisations_fts, rowid, name, city, country) VALUES ('delete', old.seq, old.name, old.city, old.country);
    INSERT INTO organisations_fts(rowid, name, city, country) VALUES (new.seq, new.name, new.city, new.country);
END;

-- A domain is pre-approved by at most one organisation: the primary key says so.
CREATE TABLE org_domains (
    domain             TEXT PRIMARY KEY,
    organisation_id    TEXT NOT NULL REFERENCES organisations(id),
    include_subdomains INTEGER NOT NULL,
    added_at           INTEGER NOT NULL,
    added_by           TEXT NOT NULL REFERENCES accounts(id)
) STRICT;
CREATE INDEX org_domains_org ON org_domains(organisation_id);

CREATE TABLE association_requests (
    id                   TEXT PRIMARY KEY,
    organisation_id      TEXT NOT NULL REFERENCES organisations(id),
    account_id           TEXT NOT NULL REFERENCES accounts(id),
    first_name           TEXT NOT NULL,
    last_name            TEXT NOT NULL,
    organisation_email   TEXT NOT NULL,
    phone                TEXT,
    job_title            TEXT,
    status               TEXT NOT NULL CHECK (status IN ('pending_approval','accepted','denied','withdrawn','active','removed')),
    created_at           INTEGER NOT NULL,
    decided_at           INTEGER,
    decided_by           TEXT REFERENCES accounts(id),
    decision_reason      TEXT,
    membership_id        TEXT,
    verification_sent_at INTEGER
) STRICT;
-- One open request per person and organisation.
CREATE UNIQUE INDEX association_requests_open ON association_requests(organisation_id, account_id)
    WHERE status IN ('pending_approval', 'accepted');
CREATE INDEX association_requests_queue ON association_requests(organisation_id, status, created_at);
CREATE INDEX association_requests_account ON association_requests(account_id);

CREATE TABLE verification_tokens (
    token_hash BLOB PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES association_requests(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    revoked_at INTEGER
) STRICT;
CREATE INDEX verification_tokens_request ON verification_tokens(request_id);

CREATE TABLE memberships (
    id                 TEXT PRIMARY KEY,
    organisation_id    TEXT NOT NULL REFERENCES organisations(id),
    account_id         TEXT NOT NULL REFERENCES accounts(id),
    request_id         TEXT REFERENCES association_requests(id),
    organisation_email TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('active','removed')),
    is_ppc             INTEGER NOT NULL DEFAULT 0,
    first_name         TEXT NOT NULL,
    last_name          TEXT NOT NULL,
    job_title          TEXT,
    phone              TEXT,
    preferred_language TEXT,
    mcp_id             TEXT,
    revision           INTEGER NOT NULL DEFAULT 1,
    created_at         INTEGER NOT NULL,
    removed_at         INTEGER
) STRICT;
CREATE UNIQUE INDEX memberships_one_active ON memberships(organisation_id, account_id) WHERE status = 'active';
-- An MCP ID is linked to at most one organisation at a time.
CREATE UNIQUE INDEX memberships_mcp_id ON memberships(mcp_id) WHERE mcp_id IS NOT NULL;
CREATE INDEX memberships_account ON memberships(account_id);

CREATE TABLE membership_privileges (
    membership_id TEXT NOT NULL REFERENCES memberships(id),
    privilege     TEXT NOT NULL CHECK (privilege IN ('global_admin','action_pack','competency_benefits')),
    granted_at    INTEGER NOT NULL,
    granted_by    TEXT NOT NULL REFERENCES accounts(id),
    PRIMARY KEY (membership_id, privilege)
) STRICT;

CREATE TABLE privilege_requests (
    id            TEXT PRIMARY KEY,
    membership_id TEXT NOT NULL REFERENCES memberships(id),
    privilege     TEXT NOT NULL,
    note          TEXT,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE invitations (
    id              TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    email           TEXT NOT NULL,
    invited_by      TEXT NOT NULL REFERENCES accounts(id),
    created_at      INTEGER NOT NULL,
    used_at         INTEGER,
    UNIQUE (organisation_id, email)
) STRICT;

-- Append-only: the triggers refuse any change to a written row.
CREATE TABLE audit_log (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    at               INTEGER NOT NULL,
    organisation_id  TEXT,
    actor_account_id TEXT,
    action           TEXT NOT NULL,
    subject          TEXT NOT NULL,
    detail           TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_org ON audit_log(organisation_id, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- The events feed. An event is seen by one account (account_id) or by the organisation's
-- administrators (admins_of).
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    account_id TEXT,
    admins_of  TEXT,
    data       TEXT NOT NULL
) STRICT;
CREATE INDEX events_account ON events(account_id, seq);
CREATE INDEX events_admins ON events(admins_of, seq);
