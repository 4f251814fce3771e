DROP TABLE xds_repository_documents;
DROP TABLE xds_associations;
DROP TABLE xds_folders;
DROP TABLE xds_document_entries;
DROP TABLE xds_submission_sets;
DROP TABLE patients;
