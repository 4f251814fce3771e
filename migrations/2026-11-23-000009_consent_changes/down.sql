DROP TRIGGER consent_history_notify ON consent_history;
DROP FUNCTION consent_history_notify();
DROP TRIGGER consent_history_update ON xds_document_entries;
CREATE OR REPLACE FUNCTION consent_history_record() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER consent_history_status AFTER UPDATE OF status ON xds_document_entries
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          AND split_part(NEW.format_code, '^', 1) IN ('urn:ihe:iti:bppc:2007', 'urn:ihe:iti:bppc-sd:2007'))
    EXECUTE FUNCTION consent_history_record();
DELETE FROM consent_history WHERE change = 'moved';
DROP INDEX consent_history_txid;
ALTER TABLE consent_history DROP COLUMN moved_from;
ALTER TABLE consent_history DROP COLUMN txid;
