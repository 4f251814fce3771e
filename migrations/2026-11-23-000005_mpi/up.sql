-- Master patient index (issue 5): PIX Manager / PDQ Supplier.
--
-- mpi_records holds one row per local identifier (root OID, extension) fed by ITI-44, with the
-- demographics that source sent; each record is linked to one person (mpi_persons), whose
-- enterprise id hiehub assigns. The XDS registry's `patients` table (migration 000003) is the
-- registry's view of the same facts: the MPI inserts a row for every active local id and every
-- enterprise id, and deletes the row of an id merged away, in the same transaction.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE mpi_persons (
    id            BIGSERIAL PRIMARY KEY,
    enterprise_id TEXT NOT NULL UNIQUE,           -- extension under the enterprise authority
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE mpi_records (
    id               BIGSERIAL PRIMARY KEY,
    root             TEXT NOT NULL,               -- assigning authority OID
    extension        TEXT NOT NULL,
    person_id        BIGINT NOT NULL REFERENCES mpi_persons (id),
    status           TEXT NOT NULL DEFAULT 'active', -- active | merged
    merged_into      BIGINT REFERENCES mpi_records (id),
    family           TEXT,
    given            TEXT,
    -- normalised search keys: lower-case romanised (Revised Romanization for Hangul) without
    -- spaces or punctuation; the Hangul form as sent (family_hangul) when the name was Hangul
    family_norm      TEXT,
    given_norm       TEXT,
    family_hangul    TEXT,
    given_hangul     TEXT,
    -- the romanised form the source sent beside a Hangul name (Kim for 김, whose RR key is gim)
    family_alt       TEXT,
    given_alt        TEXT,
    full_norm        TEXT,                         -- family_norm || given_norm
    full_alt         TEXT,                         -- family_alt || given_alt
    gender           TEXT,                         -- M F UN ...
    birth_date       TEXT,                         -- YYYYMMDD (or shorter)
    street           TEXT,
    city             TEXT,
    postal_code      TEXT,
    country          TEXT,
    phone            TEXT,                         -- digits only
    national_id_hmac TEXT,                         -- keyed hash (hex) of a national identifier
    national_id_enc  BYTEA,                        -- AES-256-GCM: nonce || ciphertext || tag
    national_id_mask TEXT,                         -- e.g. 900101-1******
    source           TEXT,                         -- sender device id
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (root, extension)
);
CREATE INDEX mpi_records_person ON mpi_records (person_id);
CREATE INDEX mpi_records_merged_into ON mpi_records (merged_into);
CREATE INDEX mpi_records_family_birth ON mpi_records (family_norm, birth_date);
CREATE INDEX mpi_records_family_alt_birth ON mpi_records (family_alt, birth_date);
CREATE INDEX mpi_records_full_norm ON mpi_records (full_norm);
CREATE INDEX mpi_records_family_trgm ON mpi_records USING GIN (family_norm gin_trgm_ops);
CREATE INDEX mpi_records_full_trgm ON mpi_records USING GIN (full_norm gin_trgm_ops);
CREATE INDEX mpi_records_full_alt_trgm ON mpi_records USING GIN (full_alt gin_trgm_ops);
CREATE INDEX mpi_records_family_hangul ON mpi_records (family_hangul, given_hangul);
CREATE INDEX mpi_records_birth ON mpi_records (birth_date);
CREATE INDEX mpi_records_phone ON mpi_records (phone);
CREATE INDEX mpi_records_national_id ON mpi_records (national_id_hmac);

-- Merges (ITI-44 PRPA_IN201304UV02 and the admin API): the id merged away and the survivor.
-- The XDS registry's documents of the merged-away id were moved to the survivor in the same
-- transaction; this row is the trace.
CREATE TABLE mpi_merges (
    id             BIGSERIAL PRIMARY KEY,
    obsolete_root  TEXT NOT NULL,
    obsolete_ext   TEXT NOT NULL,
    survivor_root  TEXT NOT NULL,
    survivor_ext   TEXT NOT NULL,
    documents      INTEGER NOT NULL DEFAULT 0,
    merged_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX mpi_merges_obsolete ON mpi_merges (obsolete_root, obsolete_ext);

-- Probabilistic links between the thresholds wait here for a person to decide.
CREATE TABLE mpi_review (
    id            BIGSERIAL PRIMARY KEY,
    record_id     BIGINT NOT NULL REFERENCES mpi_records (id),
    candidate_id  BIGINT NOT NULL REFERENCES mpi_persons (id),
    score         DOUBLE PRECISION NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open',   -- open | linked | dismissed
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at    TIMESTAMPTZ
);
CREATE INDEX mpi_review_open ON mpi_review (status, id);
CREATE INDEX mpi_review_record ON mpi_review (record_id);
CREATE INDEX mpi_review_candidate ON mpi_review (candidate_id);

-- ITI-47 continuation state: the ranked result of a query, served page by page.
CREATE TABLE mpi_pdq_queries (
    query_root     TEXT NOT NULL,
    query_ext      TEXT NOT NULL,
    record_ids     BIGINT[] NOT NULL,
    scores         DOUBLE PRECISION[] NOT NULL,
    next_offset    INTEGER NOT NULL,
    page_size      INTEGER NOT NULL,
    domains        TEXT[] NOT NULL DEFAULT '{}',
    query_xml      TEXT NOT NULL,                  -- queryByParameter, echoed in every page
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (query_root, query_ext)
);

-- ITI-46 PIX Update Notification outbox: one row per (consumer, notification), sent in id
-- order per consumer and person; kept after delivery with delivered_at set.
CREATE TABLE mpi_outbox (
    id              BIGSERIAL PRIMARY KEY,
    consumer        TEXT NOT NULL,
    person_id       BIGINT NOT NULL,
    body_xml        TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error      TEXT,
    delivered_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX mpi_outbox_pending ON mpi_outbox (consumer, id) WHERE delivered_at IS NULL;
