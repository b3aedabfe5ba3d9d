-- Domain proof, as the SQLite store's migration 3: an organisation holds a domain at most once
-- (the primary key); several organisations may hold the same domain while none has proven it; at
-- most one holds it verified, suspended or legacy (the partial unique index). Domains
-- pre-approved before this migration become `legacy` from now, each with a challenge of its own
-- (40 hex digits from two random UUIDs: at least 150 random bits), due for a check at once.
ALTER TABLE org_domains DROP CONSTRAINT org_domains_pkey;
ALTER TABLE org_domains
    ADD COLUMN status text NOT NULL DEFAULT 'legacy'
        CHECK (status IN ('pending', 'verified', 'suspended', 'lapsed', 'expired', 'legacy')),
    ADD COLUMN challenge text,
    ADD COLUMN previous_challenge text,
    ADD COLUMN previous_until bigint,
    ADD COLUMN status_since bigint,
    ADD COLUMN verified_at bigint,
    ADD COLUMN last_checked_at bigint,
    ADD COLUMN last_outcome text CHECK (last_outcome IN ('found', 'missing', 'different_value', 'error')),
    ADD COLUMN last_detail text,
    ADD COLUMN next_check_at bigint,
    ADD COLUMN missing_since bigint,
    ADD COLUMN checks integer NOT NULL DEFAULT 0,
    ADD PRIMARY KEY (domain, organisation_id);
UPDATE org_domains SET
    challenge = substr(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 1, 40),
    status_since = extract(epoch FROM now())::bigint,
    next_check_at = extract(epoch FROM now())::bigint;
ALTER TABLE org_domains
    ALTER COLUMN status DROP DEFAULT,
    ALTER COLUMN challenge SET NOT NULL,
    ALTER COLUMN status_since SET NOT NULL;
CREATE UNIQUE INDEX org_domains_held ON org_domains(domain)
    WHERE status IN ('verified', 'suspended', 'legacy');
CREATE INDEX org_domains_due ON org_domains(next_check_at) WHERE next_check_at IS NOT NULL;
