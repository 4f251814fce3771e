DROP TRIGGER consent_history_delete ON xds_document_entries;
DROP TRIGGER consent_history_status ON xds_document_entries;
DROP TRIGGER consent_history_insert ON xds_document_entries;
DROP FUNCTION consent_history_record();
DROP TABLE consent_history;
DROP INDEX xds_document_entries_consents;
