DROP TABLE imaging_manifest_references;
DROP TABLE imaging_instances;
