-- XDS.b registry and repository (issue 3). The registry keeps every object's metadata as
-- submitted (the ebRIM XML of the object, slots and all, with the ids and status the registry
-- assigned) plus indexed columns for what ITI-18 queries on. Codes are stored as
-- 'code^^^codingScheme' (the form of ITI-18 code parameters), single-valued ones in a column,
-- multi-valued ones in an array with a GIN index. Times are the first instant of the DTM (UTC).
-- availabilityStatus is the column, not the XML: deprecation updates the column only.

-- Patients known in the affinity domain (XDSUnknownPatientId otherwise). ITI-44 will feed this
-- table; until it lands, operators and tests insert rows directly.
CREATE TABLE patients (
    id                  BIGSERIAL PRIMARY KEY,
    assigning_authority TEXT NOT NULL,          -- ISO OID of the assigning authority
    patient_id          TEXT NOT NULL,          -- CX.1
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (assigning_authority, patient_id)
);

CREATE TABLE xds_submission_sets (
    entry_uuid         TEXT PRIMARY KEY,        -- urn:uuid:...
    unique_id          TEXT NOT NULL UNIQUE,
    patient_id         TEXT NOT NULL,           -- id^^^&OID&ISO
    source_id          TEXT NOT NULL,
    status             TEXT NOT NULL,           -- urn:oasis:names:tc:ebxml-regrep:StatusType:*
    submission_time    TIMESTAMP NOT NULL,
    content_type_code  TEXT NOT NULL,
    author_persons     TEXT[] NOT NULL DEFAULT '{}',
    intended_recipients TEXT[] NOT NULL DEFAULT '{}',
    transaction        TEXT NOT NULL,           -- ITI-41 or ITI-42
    metadata_xml       TEXT NOT NULL,
    registered_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX xds_submission_sets_patient ON xds_submission_sets (patient_id, status, submission_time);
CREATE INDEX xds_submission_sets_source ON xds_submission_sets (source_id);
CREATE INDEX xds_submission_sets_content_type ON xds_submission_sets (content_type_code);
CREATE INDEX xds_submission_sets_authors ON xds_submission_sets USING GIN (author_persons);

CREATE TABLE xds_document_entries (
    entry_uuid                    TEXT PRIMARY KEY,
    logical_id                    TEXT NOT NULL,
    version                       INTEGER NOT NULL DEFAULT 1,
    unique_id                     TEXT NOT NULL,
    patient_id                    TEXT NOT NULL,
    status                        TEXT NOT NULL,
    object_type                   TEXT NOT NULL,  -- Stable / On-Demand objectType UUID
    mime_type                     TEXT NOT NULL,
    class_code                    TEXT NOT NULL,
    type_code                     TEXT NOT NULL,
    format_code                   TEXT NOT NULL,
    healthcare_facility_type_code TEXT NOT NULL,
    practice_setting_code         TEXT NOT NULL,
    confidentiality_codes         TEXT[] NOT NULL,
    event_codes                   TEXT[] NOT NULL DEFAULT '{}',
    creation_time                 TIMESTAMP,
    service_start_time            TIMESTAMP,
    service_stop_time             TIMESTAMP,
    author_persons                TEXT[] NOT NULL DEFAULT '{}',
    reference_ids                 TEXT[] NOT NULL DEFAULT '{}',
    hash                          TEXT,           -- SHA-1, lower-case hex
    size                          BIGINT,
    repository_unique_id          TEXT,
    home_community_id             TEXT,
    submission_set                TEXT NOT NULL REFERENCES xds_submission_sets (entry_uuid),
    metadata_xml                  TEXT NOT NULL,
    registered_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (logical_id, version)
);
-- A document's uniqueId is registered once; later versions (ITI-57) share it.
CREATE UNIQUE INDEX xds_document_entries_unique_id_first ON xds_document_entries (unique_id) WHERE version = 1;
CREATE INDEX xds_document_entries_unique_id ON xds_document_entries (unique_id);
CREATE INDEX xds_document_entries_patient ON xds_document_entries (patient_id, status, object_type);
CREATE INDEX xds_document_entries_class ON xds_document_entries (class_code);
CREATE INDEX xds_document_entries_type ON xds_document_entries (type_code);
CREATE INDEX xds_document_entries_format ON xds_document_entries (format_code);
CREATE INDEX xds_document_entries_facility ON xds_document_entries (healthcare_facility_type_code);
CREATE INDEX xds_document_entries_practice ON xds_document_entries (practice_setting_code);
CREATE INDEX xds_document_entries_confidentiality ON xds_document_entries USING GIN (confidentiality_codes);
CREATE INDEX xds_document_entries_events ON xds_document_entries USING GIN (event_codes);
CREATE INDEX xds_document_entries_authors ON xds_document_entries USING GIN (author_persons);
CREATE INDEX xds_document_entries_references ON xds_document_entries USING GIN (reference_ids);
CREATE INDEX xds_document_entries_creation ON xds_document_entries (patient_id, creation_time);
CREATE INDEX xds_document_entries_service_start ON xds_document_entries (patient_id, service_start_time);
CREATE INDEX xds_document_entries_service_stop ON xds_document_entries (patient_id, service_stop_time);
CREATE INDEX xds_document_entries_hash ON xds_document_entries (hash);
CREATE INDEX xds_document_entries_repository ON xds_document_entries (repository_unique_id);
CREATE INDEX xds_document_entries_submission_set ON xds_document_entries (submission_set);

CREATE TABLE xds_folders (
    entry_uuid       TEXT PRIMARY KEY,
    logical_id       TEXT NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    unique_id        TEXT NOT NULL,
    patient_id       TEXT NOT NULL,
    status           TEXT NOT NULL,
    code_list        TEXT[] NOT NULL,
    last_update_time TIMESTAMP NOT NULL,
    submission_set   TEXT NOT NULL REFERENCES xds_submission_sets (entry_uuid),
    metadata_xml     TEXT NOT NULL,
    registered_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (logical_id, version)
);
CREATE UNIQUE INDEX xds_folders_unique_id_first ON xds_folders (unique_id) WHERE version = 1;
CREATE INDEX xds_folders_unique_id ON xds_folders (unique_id);
CREATE INDEX xds_folders_patient ON xds_folders (patient_id, status, last_update_time);
CREATE INDEX xds_folders_codes ON xds_folders USING GIN (code_list);
CREATE INDEX xds_folders_submission_set ON xds_folders (submission_set);

-- Association ends may name any registry object (DocumentEntry, Folder, SubmissionSet,
-- Association), so they carry no foreign key; both are indexed.
CREATE TABLE xds_associations (
    entry_uuid            TEXT PRIMARY KEY,
    association_type      TEXT NOT NULL,        -- urn:oasis:...:HasMember, urn:ihe:iti:2007:AssociationType:RPLC, ...
    source_uuid           TEXT NOT NULL,
    target_uuid           TEXT NOT NULL,
    status                TEXT NOT NULL,
    submission_set_status TEXT,                 -- Original / Reference (SubmissionSet-HasMember-DocumentEntry)
    submission_set        TEXT NOT NULL REFERENCES xds_submission_sets (entry_uuid),
    metadata_xml          TEXT NOT NULL,
    registered_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX xds_associations_source ON xds_associations (source_uuid, association_type);
CREATE INDEX xds_associations_target ON xds_associations (target_uuid, association_type);
CREATE INDEX xds_associations_submission_set ON xds_associations (submission_set);

-- The repository: documents stored by ITI-41, by their uniqueId; the bytes are in the blob store
-- under <data_dir>/blobs/, addressed by SHA-256.
CREATE TABLE xds_repository_documents (
    document_unique_id TEXT PRIMARY KEY,
    blob_sha256        TEXT NOT NULL,
    sha1               TEXT NOT NULL,
    size               BIGINT NOT NULL,
    mime_type          TEXT NOT NULL,
    stored_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX xds_repository_documents_blob ON xds_repository_documents (blob_sha256);
