DROP TABLE mpi_outbox;
DROP TABLE mpi_pdq_queries;
DROP TABLE mpi_review;
DROP TABLE mpi_merges;
DROP TABLE mpi_records;
DROP TABLE mpi_persons;
DROP EXTENSION IF EXISTS pg_trgm;
