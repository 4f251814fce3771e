-- DICOM instance index (issue 7). The instance bytes live in the content-addressed blob store
-- (<data_dir>/blobs, the same store as XDS documents); this table indexes each stored instance
-- with its patient, study and series attributes denormalised, so QIDO-RS and the viewer answer
-- from indexed columns. `render` holds the attributes rendering and the viewer need (bits,
-- photometric interpretation, rescale, window, geometry) as JSON.
CREATE TABLE imaging_instances (
    sop_instance_uid     TEXT PRIMARY KEY,
    sop_class_uid        TEXT NOT NULL,
    study_instance_uid   TEXT NOT NULL,
    series_instance_uid  TEXT NOT NULL,
    patient_id           TEXT NOT NULL DEFAULT '',   -- (0010,0020) as sent
    issuer_of_patient_id TEXT NOT NULL DEFAULT '',   -- (0010,0021)
    patient_name         TEXT NOT NULL DEFAULT '',
    patient_birth_date   TEXT NOT NULL DEFAULT '',
    patient_sex          TEXT NOT NULL DEFAULT '',
    study_date           TEXT NOT NULL DEFAULT '',   -- DA, YYYYMMDD
    study_time           TEXT NOT NULL DEFAULT '',
    study_id             TEXT NOT NULL DEFAULT '',
    study_description    TEXT NOT NULL DEFAULT '',
    accession_number     TEXT NOT NULL DEFAULT '',
    referring_physician  TEXT NOT NULL DEFAULT '',
    modality             TEXT NOT NULL DEFAULT '',
    series_number        INTEGER,
    series_description   TEXT NOT NULL DEFAULT '',
    instance_number      INTEGER,
    transfer_syntax_uid  TEXT NOT NULL,
    number_of_frames     INTEGER NOT NULL DEFAULT 1,
    image_rows           INTEGER,
    image_columns        INTEGER,
    render               JSONB NOT NULL DEFAULT '{}',
    blob_sha256          TEXT NOT NULL,
    size                 BIGINT NOT NULL,
    source               TEXT NOT NULL,              -- STOW-RS, C-STORE, RAD-68
    stored_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX imaging_instances_study ON imaging_instances (study_instance_uid);
CREATE INDEX imaging_instances_series ON imaging_instances (series_instance_uid);
CREATE INDEX imaging_instances_patient ON imaging_instances (patient_id);
CREATE INDEX imaging_instances_accession ON imaging_instances (accession_number);
CREATE INDEX imaging_instances_study_date ON imaging_instances (study_date);
CREATE INDEX imaging_instances_modality ON imaging_instances (modality);
CREATE INDEX imaging_instances_blob ON imaging_instances (blob_sha256);

-- What each registered KOS manifest (XDS-I.b RAD-68) references: its Current Requested
-- Procedure Evidence Sequence, one row per referenced instance, written in the transaction that
-- registers the manifest's DocumentEntry. RAD-69 and the viewer follow the manifests that are
-- Approved (a replaced manifest's rows stay, its DocumentEntry is Deprecated).
CREATE TABLE imaging_manifest_references (
    manifest_unique_id    TEXT NOT NULL,            -- DocumentEntry uniqueId (= KOS SOP Instance UID)
    study_instance_uid    TEXT NOT NULL,
    series_instance_uid   TEXT NOT NULL,
    sop_instance_uid      TEXT NOT NULL,
    sop_class_uid         TEXT NOT NULL,
    retrieve_ae_title     TEXT NOT NULL DEFAULT '',
    retrieve_location_uid TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (manifest_unique_id, sop_instance_uid)
);
CREATE INDEX imaging_manifest_references_study ON imaging_manifest_references (study_instance_uid);
CREATE INDEX imaging_manifest_references_sop ON imaging_manifest_references (sop_instance_uid);
