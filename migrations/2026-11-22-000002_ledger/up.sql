-- The ATNA ledger (DESIGN.md "Ledger format"): an append-only, hash-chained RFC 9162 Merkle tree.
-- audit_events of the foundation becomes an index beside the ledger (outside the hash, rebuildable
-- from the payloads); nothing had shipped with the old shape.
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END $$;

-- One row per leaf. seq is the 0-based leaf index.
CREATE TABLE ledger_entries (
    seq          BIGINT PRIMARY KEY CHECK (seq >= 0),
    kind         SMALLINT NOT NULL,
    leaf         BYTEA NOT NULL,            -- canonical leaf bytes (ledger::leaf)
    leaf_hash    BYTEA NOT NULL CHECK (length(leaf_hash) = 32),   -- SHA3-256(0x00 || leaf)
    chain_hash   BYTEA NOT NULL CHECK (length(chain_hash) = 32),  -- SHA3-256(0x02 || u64be(seq) || chain[seq-1] || leaf_hash)
    committed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- The payload of each leaf, exactly as received (or as emitted). The leaf commits to its SHA3-256.
-- The only change ever allowed: erasing a payload under a recorded Erasure entry.
CREATE TABLE ledger_payloads (
    seq       BIGINT PRIMARY KEY REFERENCES ledger_entries (seq),
    payload   BYTEA,                       -- NULL once erased
    erased_by BIGINT REFERENCES ledger_entries (seq)
);
CREATE INDEX ledger_payloads_erased_by ON ledger_payloads (erased_by) WHERE erased_by IS NOT NULL;
CREATE FUNCTION ledger_payloads_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.payload IS NOT NULL AND NEW.payload IS NULL
       AND NEW.erased_by IS NOT NULL AND NEW.seq = OLD.seq AND OLD.erased_by IS NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'ledger_payloads is append-only except for recorded erasure (% refused)', TG_OP;
END $$;
CREATE TRIGGER ledger_payloads_guard BEFORE UPDATE OR DELETE ON ledger_payloads
    FOR EACH ROW EXECUTE FUNCTION ledger_payloads_guard();
CREATE TRIGGER ledger_payloads_no_truncate BEFORE TRUNCATE ON ledger_payloads
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Hashes of every perfect subtree above the leaves: node (level, idx) covers leaves
-- [idx * 2^level, (idx + 1) * 2^level). Level 0 lives in ledger_entries.leaf_hash.
CREATE TABLE ledger_nodes (
    level SMALLINT NOT NULL CHECK (level BETWEEN 1 AND 63),
    idx   BIGINT NOT NULL CHECK (idx >= 0),
    hash  BYTEA NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);
CREATE TRIGGER ledger_nodes_append_only BEFORE UPDATE OR DELETE ON ledger_nodes
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_nodes_no_truncate BEFORE TRUNCATE ON ledger_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Signed checkpoints (C2SP signed note) of this hub's ledger.
CREATE TABLE ledger_checkpoints (
    size       BIGINT PRIMARY KEY CHECK (size > 0),
    root       BYTEA NOT NULL CHECK (length(root) = 32),
    note       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE ON ledger_checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON ledger_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Results of `ledger verify` runs (state shown on the inspector pages).
CREATE TABLE ledger_verifications (
    id          BIGSERIAL PRIMARY KEY,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    from_size   BIGINT NOT NULL,
    to_size     BIGINT NOT NULL,
    ok          BOOLEAN NOT NULL,
    report      TEXT NOT NULL
);

-- The searchable index of audit events: parsed fields, outside the hash, rebuildable from payloads.
CREATE TABLE audit_events (
    seq             BIGINT PRIMARY KEY REFERENCES ledger_entries (seq),
    event_time      TIMESTAMPTZ,
    received_at     TIMESTAMPTZ NOT NULL,
    event_id        TEXT,                  -- DICOM EventID code, e.g. 110112
    event_action    TEXT,                  -- C R U D E
    event_types     TEXT[] NOT NULL DEFAULT '{}',  -- EventTypeCode codes, e.g. ITI-18, 110120
    outcome         SMALLINT,
    transport       TEXT NOT NULL,         -- http, https, syslog-tls, syslog-udp, internal
    sender          TEXT,                  -- authenticated node identity of the sender, if any
    remote_addr     TEXT,
    source_id       TEXT,                  -- AuditSourceID
    users           TEXT[] NOT NULL DEFAULT '{}',
    nodes           TEXT[] NOT NULL DEFAULT '{}',  -- network access points
    patient_ids     TEXT[] NOT NULL DEFAULT '{}',
    object_ids      TEXT[] NOT NULL DEFAULT '{}',
    message_id      TEXT,                  -- wsa:MessageID of a SOAP transaction hiehub answered
    valid           BOOLEAN NOT NULL,      -- false: kept raw, did not parse
    error           TEXT
);
CREATE INDEX audit_events_event_time ON audit_events (event_time);
CREATE INDEX audit_events_event_id ON audit_events (event_id, event_time);
CREATE INDEX audit_events_message_id ON audit_events (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX audit_events_event_types ON audit_events USING GIN (event_types);
CREATE INDEX audit_events_users ON audit_events USING GIN (users);
CREATE INDEX audit_events_nodes ON audit_events USING GIN (nodes);
CREATE INDEX audit_events_patient_ids ON audit_events USING GIN (patient_ids);
CREATE INDEX audit_events_object_ids ON audit_events USING GIN (object_ids);
CREATE INDEX audit_events_invalid ON audit_events (seq) WHERE NOT valid;
