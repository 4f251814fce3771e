-- BPPC patient consents (issue 6). A consent is a DocumentEntry whose formatCode is BPPC
-- (urn:ihe:iti:bppc:2007 or urn:ihe:iti:bppc-sd:2007): its eventCodeList names the policies,
-- serviceStartTime/serviceStopTime its window, its status whether it is in force (RPLC and ITI-57
-- deprecate it in the status column). hiehub reads a patient's consents from these columns on
-- every request, so a change is in force as soon as its transaction commits: there is no cache.

-- The consents of one patient, found without touching the patient's other documents.
CREATE INDEX xds_document_entries_consents ON xds_document_entries (patient_id)
    WHERE split_part(format_code, '^', 1) IN ('urn:ihe:iti:bppc:2007', 'urn:ihe:iti:bppc-sd:2007');

-- What happened to each consent, for the privacy officer: written by triggers in the transaction
-- that made the change (ITI-41/42 registration, RPLC or ITI-57 deprecation, ITI-62 removal), so
-- the history can neither miss a change nor record one that did not commit.
CREATE TABLE consent_history (
    id          BIGSERIAL PRIMARY KEY,
    patient_id  TEXT NOT NULL,
    entry_uuid  TEXT NOT NULL,
    unique_id   TEXT NOT NULL,
    change      TEXT NOT NULL,          -- registered | status | removed
    status      TEXT,                   -- the status after the change (NULL when removed)
    at          TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX consent_history_patient ON consent_history (patient_id, id);

CREATE FUNCTION consent_history_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO consent_history (patient_id, entry_uuid, unique_id, change, status)
        VALUES (NEW.patient_id, NEW.entry_uuid, NEW.unique_id, 'registered', NEW.status);
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO consent_history (patient_id, entry_uuid, unique_id, change, status)
        VALUES (NEW.patient_id, NEW.entry_uuid, NEW.unique_id, 'status', NEW.status);
        RETURN NEW;
    ELSE
        INSERT INTO consent_history (patient_id, entry_uuid, unique_id, change, status)
        VALUES (OLD.patient_id, OLD.entry_uuid, OLD.unique_id, 'removed', NULL);
        RETURN OLD;
    END IF;
END;
$$;

CREATE TRIGGER consent_history_insert AFTER INSERT ON xds_document_entries
    FOR EACH ROW
    WHEN (split_part(NEW.format_code, '^', 1) IN ('urn:ihe:iti:bppc:2007', 'urn:ihe:iti:bppc-sd:2007'))
    EXECUTE FUNCTION consent_history_record();
CREATE TRIGGER consent_history_status AFTER UPDATE OF status ON xds_document_entries
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          AND split_part(NEW.format_code, '^', 1) IN ('urn:ihe:iti:bppc:2007', 'urn:ihe:iti:bppc-sd:2007'))
    EXECUTE FUNCTION consent_history_record();
CREATE TRIGGER consent_history_delete AFTER DELETE ON xds_document_entries
    FOR EACH ROW
    WHEN (split_part(OLD.format_code, '^', 1) IN ('urn:ihe:iti:bppc:2007', 'urn:ihe:iti:bppc-sd:2007'))
    EXECUTE FUNCTION consent_history_record();
