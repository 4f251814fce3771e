-- Consent changes (issue 6, second step): the transaction that made each change, merges that move
-- a consent to another patient, and a notification per change so that caches of a patient's
-- consents are invalidated when the change commits.

-- Which transaction made the change: the writer reads back its own changes (to audit a consent
-- revoked by ITI-57, ITI-62 or a patient merge) before it answers.
ALTER TABLE consent_history ADD COLUMN txid BIGINT NOT NULL DEFAULT txid_current();
CREATE INDEX consent_history_txid ON consent_history (txid);

-- 'moved' rows: a merge (PIX ITI-44 or the admin API) moved the consent from `moved_from`.
ALTER TABLE consent_history ADD COLUMN moved_from TEXT;

CREATE OR REPLACE FUNCTION consent_history_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO consent_history (patient_id, entry_uuid, unique_id, change, status)
        VALUES (NEW.patient_id, NEW.entry_uuid, NEW.unique_id, 'registered', NEW.status);
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' THEN
        IF OLD.patient_id IS DISTINCT FROM NEW.patient_id THEN
            INSERT INTO consent_history (patient_id, entry_uuid, unique_id, change, status, moved_from)
            VALUES (NEW.patient_id, NEW.entry_uuid, NEW.unique_id, 'moved', NEW.status, OLD.patient_id);
        END IF;
        IF OLD.status IS DISTINCT FROM NEW.status THEN
            INSERT INTO consent_history (patient_id, entry_uuid, unique_id, change, status)
            VALUES (NEW.patient_id, NEW.entry_uuid, NEW.unique_id, 'status', NEW.status);
        END IF;
        RETURN NEW;
    ELSE
        INSERT INTO consent_history (patient_id, entry_uuid, unique_id, change, status)
        VALUES (OLD.patient_id, OLD.entry_uuid, OLD.unique_id, 'removed', NULL);
        RETURN OLD;
    END IF;
END;
$$;

-- The status trigger of migration 000008 now also fires when a merge moves a consent.
DROP TRIGGER consent_history_status ON xds_document_entries;
CREATE TRIGGER consent_history_update AFTER UPDATE OF status, patient_id ON xds_document_entries
    FOR EACH ROW
    WHEN ((OLD.status IS DISTINCT FROM NEW.status OR OLD.patient_id IS DISTINCT FROM NEW.patient_id)
          AND split_part(NEW.format_code, '^', 1) IN ('urn:ihe:iti:bppc:2007', 'urn:ihe:iti:bppc-sd:2007'))
    EXECUTE FUNCTION consent_history_record();

-- Every change notifies `hiehub_consent` with the patient concerned (and, for a move, the patient
-- it left). PostgreSQL delivers notifications when the transaction commits, to every session
-- listening: hiehub's pooled connections listen (store::Db) and drop the cached consents of that
-- patient; the writing session receives its own notification with its COMMIT, before it answers.
CREATE FUNCTION consent_history_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hiehub_consent', NEW.patient_id);
    IF NEW.moved_from IS NOT NULL THEN
        PERFORM pg_notify('hiehub_consent', NEW.moved_from);
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER consent_history_notify AFTER INSERT ON consent_history
    FOR EACH ROW EXECUTE FUNCTION consent_history_notify();
