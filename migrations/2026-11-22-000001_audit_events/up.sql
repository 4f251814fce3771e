-- The audit trail as the foundation needs it: every transaction's event, committed before the
-- transaction is answered. The ATNA/ledger work turns these rows into ledger entries with hashes.
CREATE TABLE audit_events (
    seq              BIGSERIAL PRIMARY KEY,
    recorded_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    event_time       TIMESTAMPTZ NOT NULL,
    event_id         TEXT NOT NULL,          -- DICOM EventID code, e.g. 110112 (Query)
    event_action     CHAR(1) NOT NULL,       -- C R U D E
    event_type       TEXT,                   -- e.g. ITI-18
    outcome          SMALLINT NOT NULL,      -- 0, 4, 8, 12
    transport        TEXT NOT NULL,          -- http, https, syslog-tls, syslog-udp, internal
    requestor        TEXT,                   -- node identity: client certificate subject, if any
    remote_addr      TEXT,
    message_id       TEXT,                   -- wsa:MessageID of the request, if any
    payload          JSONB NOT NULL          -- the full typed event
);
CREATE INDEX audit_events_event_time ON audit_events (event_time);
CREATE INDEX audit_events_message_id ON audit_events (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX audit_events_event_id ON audit_events (event_id, event_time);

-- Append-only: rows are never changed or removed.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
