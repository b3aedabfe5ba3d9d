-- Delegation and PPC handover, as the SQLite store's migration 5.
CREATE TABLE delegations (
    organisation_id         text PRIMARY KEY REFERENCES organisations(id),
    delegator_membership_id text NOT NULL REFERENCES memberships(id),
    delegate_membership_id  text NOT NULL REFERENCES memberships(id),
    starts_at               bigint NOT NULL,
    ends_at                 bigint NOT NULL,
    started                 boolean NOT NULL DEFAULT false,
    created_by              text NOT NULL REFERENCES accounts(id),
    created_at              bigint NOT NULL,
    CHECK (starts_at < ends_at)
);
CREATE INDEX delegations_due ON delegations(starts_at, ends_at);

CREATE TABLE ppc_handovers (
    id                 text PRIMARY KEY,
    organisation_id    text NOT NULL REFERENCES organisations(id),
    from_membership_id text NOT NULL REFERENCES memberships(id),
    to_membership_id   text NOT NULL REFERENCES memberships(id),
    status             text NOT NULL CHECK (status IN ('offered', 'accepted', 'declined', 'replaced')),
    created_at         bigint NOT NULL,
    decided_at         bigint
);
CREATE UNIQUE INDEX ppc_handovers_open ON ppc_handovers(organisation_id) WHERE status = 'offered';
CREATE INDEX ppc_handovers_to ON ppc_handovers(to_membership_id) WHERE status = 'offered';
