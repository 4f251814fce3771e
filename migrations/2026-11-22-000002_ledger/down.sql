DROP TABLE audit_events;
DROP TABLE ledger_verifications;
DROP TABLE ledger_checkpoints;
DROP TABLE ledger_nodes;
DROP TABLE ledger_payloads;
DROP TABLE ledger_entries;
DROP FUNCTION ledger_payloads_guard();
DROP FUNCTION ledger_append_only();
CREATE TABLE audit_events (
    seq              BIGSERIAL PRIMARY KEY,
    recorded_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    event_time       TIMESTAMPTZ NOT NULL,
    event_id         TEXT NOT NULL,
    event_action     CHAR(1) NOT NULL,
    event_type       TEXT,
    outcome          SMALLINT NOT NULL,
    transport        TEXT NOT NULL,
    requestor        TEXT,
    remote_addr      TEXT,
    message_id       TEXT,
    payload          JSONB NOT NULL
);
CREATE INDEX audit_events_event_time ON audit_events (event_time);
CREATE INDEX audit_events_message_id ON audit_events (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX audit_events_event_id ON audit_events (event_id, event_time);
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
