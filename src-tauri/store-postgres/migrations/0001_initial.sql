-- Partner Desk membership schema on PostgreSQL, version 1: the tables, columns and constraints of
-- the SQLite store's 0001_initial.sql. Times are Unix seconds (UTC) in bigint, as on SQLite, so
-- values and their order are the same. Tokens are stored only as SHA-256 hashes; passwords only
-- as argon2id hashes. SQLite's rowid orderings are explicit `seq` identity columns here.

-- SQLite's NOCASE: only A-Z fold, so country and city compare exactly as they do there.
CREATE FUNCTION nocase(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT translate($1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') $$;

CREATE TABLE accounts (
    id            text PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    display_name  text NOT NULL,
    password_hash text NOT NULL,
    created_at    bigint NOT NULL
);

CREATE TABLE sessions (
    id                 text PRIMARY KEY,
    account_id         text NOT NULL REFERENCES accounts(id),
    access_hash        bytea NOT NULL UNIQUE,
    access_expires_at  bigint NOT NULL,
    refresh_hash       bytea NOT NULL UNIQUE,
    refresh_expires_at bigint NOT NULL,
    created_at         bigint NOT NULL,
    revoked_at         bigint
);
CREATE INDEX sessions_account ON sessions(account_id);

-- seq orders the directory; id is the opaque id callers see.
CREATE TABLE organisations (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    partner_id text NOT NULL UNIQUE,
    name       text NOT NULL,
    country    text NOT NULL,
    city       text NOT NULL,
    address    text,
    phone      text,
    website    text,
    created_at bigint NOT NULL
);
CREATE INDEX organisations_place ON organisations(nocase(country), nocase(city), seq);
CREATE INDEX organisations_city ON organisations(nocase(city), seq);

-- The directory index (SQLite: FTS5 over name, city and country): each distinct word of an
-- organisation's name, city and country, as membership::domain::directory_words splits them.
-- "C" collation compares bytes, so a prefix is a range of the (word, seq) index.
CREATE TABLE organisation_words (
    seq  bigint NOT NULL REFERENCES organisations(seq),
    word text COLLATE "C" NOT NULL,
    PRIMARY KEY (seq, word)
);
CREATE INDEX organisation_words_word ON organisation_words(word, seq);

-- A domain is pre-approved by at most one organisation: the primary key says so.
CREATE TABLE org_domains (
    domain             text PRIMARY KEY,
    organisation_id    text NOT NULL REFERENCES organisations(id),
    include_subdomains boolean NOT NULL,
    added_at           bigint NOT NULL,
    added_by           text NOT NULL REFERENCES accounts(id)
);
CREATE INDEX org_domains_org ON org_domains(organisation_id);

CREATE TABLE association_requests (
    seq                  bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                   text PRIMARY KEY,
    organisation_id      text NOT NULL REFERENCES organisations(id),
    account_id           text NOT NULL REFERENCES accounts(id),
    first_name           text NOT NULL,
    last_name            text NOT NULL,
    organisation_email   text NOT NULL,
    phone                text,
    job_title            text,
    status               text NOT NULL CHECK (status IN ('pending_approval','accepted','denied','withdrawn','active','removed')),
    created_at           bigint NOT NULL,
    decided_at           bigint,
    decided_by           text REFERENCES accounts(id),
    decision_reason      text,
    membership_id        text,
    verification_sent_at bigint
);
-- One open request per person and organisation.
CREATE UNIQUE INDEX association_requests_open ON association_requests(organisation_id, account_id)
    WHERE status IN ('pending_approval', 'accepted');
CREATE INDEX association_requests_queue ON association_requests(organisation_id, seq);
CREATE INDEX association_requests_account ON association_requests(account_id);
CREATE INDEX association_requests_membership ON association_requests(membership_id);

CREATE TABLE verification_tokens (
    token_hash bytea PRIMARY KEY,
    request_id text NOT NULL REFERENCES association_requests(id),
    account_id text NOT NULL REFERENCES accounts(id),
    email      text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    used_at    bigint,
    revoked_at bigint
);
CREATE INDEX verification_tokens_request ON verification_tokens(request_id);
CREATE INDEX verification_tokens_account ON verification_tokens(account_id);

CREATE TABLE memberships (
    seq                bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                 text PRIMARY KEY,
    organisation_id    text NOT NULL REFERENCES organisations(id),
    account_id         text NOT NULL REFERENCES accounts(id),
    request_id         text REFERENCES association_requests(id),
    organisation_email text NOT NULL,
    status             text NOT NULL CHECK (status IN ('active','removed')),
    is_ppc             boolean NOT NULL DEFAULT false,
    first_name         text NOT NULL,
    last_name          text NOT NULL,
    job_title          text,
    phone              text,
    preferred_language text,
    mcp_id             text,
    revision           bigint NOT NULL DEFAULT 1,
    created_at         bigint NOT NULL,
    removed_at         bigint
);
CREATE UNIQUE INDEX memberships_one_active ON memberships(organisation_id, account_id) WHERE status = 'active';
-- An MCP ID is linked to at most one organisation at a time.
CREATE UNIQUE INDEX memberships_mcp_id ON memberships(mcp_id) WHERE mcp_id IS NOT NULL;
CREATE INDEX memberships_account ON memberships(account_id);
CREATE INDEX memberships_organisation ON memberships(organisation_id, seq);

CREATE TABLE membership_privileges (
    membership_id text NOT NULL REFERENCES memberships(id),
    privilege     text NOT NULL CHECK (privilege IN ('global_admin','action_pack','competency_benefits')),
    granted_at    bigint NOT NULL,
    granted_by    text NOT NULL REFERENCES accounts(id),
    PRIMARY KEY (membership_id, privilege)
);

CREATE TABLE privilege_requests (
    id            text PRIMARY KEY,
    membership_id text NOT NULL REFERENCES memberships(id),
    privilege     text NOT NULL,
    note          text,
    created_at    bigint NOT NULL
);
CREATE INDEX privilege_requests_membership ON privilege_requests(membership_id);

CREATE TABLE invitations (
    id              text PRIMARY KEY,
    organisation_id text NOT NULL REFERENCES organisations(id),
    email           text NOT NULL,
    invited_by      text NOT NULL REFERENCES accounts(id),
    created_at      bigint NOT NULL,
    used_at         bigint,
    UNIQUE (organisation_id, email)
);

-- Append-only: the database refuses any update, delete or truncation.
CREATE TABLE audit_log (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at               bigint NOT NULL,
    organisation_id  text,
    actor_account_id text,
    action           text NOT NULL,
    subject          text NOT NULL,
    detail           text NOT NULL
);
CREATE INDEX audit_log_org ON audit_log(organisation_id, seq);
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
-- Statement triggers: they refuse even a change that would touch no row.
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- The events feed. An event is seen by one account (account_id) or by the organisation's
-- administrators (admins_of). data is the event's JSON, as text (as on SQLite).
CREATE TABLE events (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         bigint NOT NULL,
    kind       text NOT NULL,
    account_id text,
    admins_of  text,
    data       text NOT NULL
);
CREATE INDEX events_account ON events(account_id, seq);
CREATE INDEX events_admins ON events(admins_of, seq);
