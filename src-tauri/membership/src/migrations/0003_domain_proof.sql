-- Domain proof: an organisation holds a domain at most once (the primary key). Several
-- organisations may hold the same domain while none has proven it; at most one holds it
-- verified, suspended or legacy (the partial unique index). Domains pre-approved before this
-- migration become `legacy` from now, each with a challenge of its own (160 random bits), and
-- are due for a check at once.
CREATE TABLE org_domains_v3 (
    domain             TEXT NOT NULL,
    organisation_id    TEXT NOT NULL REFERENCES organisations(id),
    include_subdomains INTEGER NOT NULL,
    added_at           INTEGER NOT NULL,
    added_by           TEXT NOT NULL REFERENCES accounts(id),
    status             TEXT NOT NULL
        CHECK (status IN ('pending', 'verified', 'suspended', 'lapsed', 'expired', 'legacy')),
    challenge          TEXT NOT NULL,
    previous_challenge TEXT,
    previous_until     INTEGER,
    status_since       INTEGER NOT NULL,
    verified_at        INTEGER,
    last_checked_at    INTEGER,
    last_outcome       TEXT CHECK (last_outcome IN ('found', 'missing', 'different_value', 'error')),
    last_detail        TEXT,
    next_check_at      INTEGER,
    missing_since      INTEGER,
    checks             INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (domain, organisation_id)
) STRICT;
INSERT INTO org_domains_v3(domain, organisation_id, include_subdomains, added_at, added_by,
                           status, challenge, status_since, next_check_at)
    SELECT domain, organisation_id, include_subdomains, added_at, added_by,
           'legacy', lower(hex(randomblob(20))), unixepoch(), unixepoch()
    FROM org_domains;
DROP TABLE org_domains;
ALTER TABLE org_domains_v3 RENAME TO org_domains;
CREATE INDEX org_domains_org ON org_domains(organisation_id);
CREATE UNIQUE INDEX org_domains_held ON org_domains(domain)
    WHERE status IN ('verified', 'suspended', 'legacy');
CREATE INDEX org_domains_due ON org_domains(next_check_at) WHERE next_check_at IS NOT NULL;
