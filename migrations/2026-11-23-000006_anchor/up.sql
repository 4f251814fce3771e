-- Cross-anchoring (issue #8, DESIGN.md "Ledger format"): what this hub witnessed of its peers,
-- the cosignatures its peers gave its own checkpoints, and evidence of peer misbehaviour.

-- Witness side: the last checkpoint of each peer log this hub cosigned. Advanced only by one
-- compare-and-swap statement (INSERT ... ON CONFLICT DO UPDATE ... WHERE size = old AND root = old).
CREATE TABLE witness_state (
    origin     TEXT PRIMARY KEY,              -- the peer log's checkpoint origin line
    peer       TEXT NOT NULL,                 -- the peer's name in [[peers]]
    size       BIGINT NOT NULL CHECK (size > 0),
    root       BYTEA NOT NULL CHECK (length(root) = 32),
    note       TEXT NOT NULL,                 -- the signed checkpoint as received
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Client side: cosignatures peers made of this hub's checkpoints (derived from the Cosignature
-- ledger entries, which carry the same lines; kept here to answer "is entry N anchored?").
CREATE TABLE anchor_cosignatures (
    peer       TEXT NOT NULL,
    size       BIGINT NOT NULL CHECK (size > 0),
    root       BYTEA NOT NULL CHECK (length(root) = 32),
    key_name   TEXT NOT NULL,
    key_id     BIGINT NOT NULL,
    cosigned_at BIGINT NOT NULL,              -- the cosignature's timestamp, POSIX seconds
    line       TEXT NOT NULL,                 -- the signature line as received
    ledger_seq BIGINT NOT NULL REFERENCES ledger_entries (seq),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (peer, size)
);
CREATE INDEX anchor_cosignatures_size ON anchor_cosignatures (size);
CREATE INDEX anchor_cosignatures_ledger_seq ON anchor_cosignatures (ledger_seq);
CREATE TRIGGER anchor_cosignatures_append_only BEFORE UPDATE OR DELETE ON anchor_cosignatures
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- Alarms: fork, rollback, bad signature, failed proof (witness side) and rollback of this hub
-- (client side). `evidence` is the self-contained JSON `hiehub ledger check-fork` re-checks.
CREATE TABLE anchor_alarms (
    id          BIGSERIAL PRIMARY KEY,
    detected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    peer        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL,
    evidence    TEXT,
    ledger_seq  BIGINT REFERENCES ledger_entries (seq)
);
CREATE INDEX anchor_alarms_ledger_seq ON anchor_alarms (ledger_seq);
CREATE TRIGGER anchor_alarms_append_only BEFORE UPDATE OR DELETE ON anchor_alarms
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
