-- Delegation: a colleague decides an organisation's requests for a period ("I am away 3-17
-- March"). One per organisation; `started` is set when the period began and the delegate was
-- handed the waiting queue. The row goes when the period ends (history is in the audit log).
CREATE TABLE delegations (
    organisation_id         TEXT PRIMARY KEY REFERENCES organisations(id),
    delegator_membership_id TEXT NOT NULL REFERENCES memberships(id),
    delegate_membership_id  TEXT NOT NULL REFERENCES memberships(id),
    starts_at               INTEGER NOT NULL,
    ends_at                 INTEGER NOT NULL,
    started                 INTEGER NOT NULL DEFAULT 0 CHECK (started IN (0, 1)),
    created_by              TEXT NOT NULL REFERENCES accounts(id),
    created_at              INTEGER NOT NULL,
    CHECK (starts_at < ends_at)
) STRICT;
CREATE INDEX delegations_due ON delegations(starts_at, ends_at);

-- Handover: the PPC offers the role to another member, who must accept before it moves.
CREATE TABLE ppc_handovers (
    id                 TEXT PRIMARY KEY,
    organisation_id    TEXT NOT NULL REFERENCES organisations(id),
    from_membership_id TEXT NOT NULL REFERENCES memberships(id),
    to_membership_id   TEXT NOT NULL REFERENCES memberships(id),
    status             TEXT NOT NULL CHECK (status IN ('offered', 'accepted', 'declined', 'replaced')),
    created_at         INTEGER NOT NULL,
    decided_at         INTEGER
) STRICT;
CREATE UNIQUE INDEX ppc_handovers_open ON ppc_handovers(organisation_id) WHERE status = 'offered';
CREATE INDEX ppc_handovers_to ON ppc_handovers(to_membership_id) WHERE status = 'offered';
