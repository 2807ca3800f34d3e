-- Operational tables: what is in the vector index, what failed, what each run embedded.
CREATE TABLE IF NOT EXISTS ops.vector_manifest (
    chunk_id VARCHAR NOT NULL,
    doc_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    model_id VARCHAR NOT NULL,
    chunker_version VARCHAR NOT NULL,
    partition_date DATE NOT NULL,
    indexed_at TIMESTAMP_NTZ NOT NULL,
    metadata_hash VARCHAR               -- of the row's provenance fields and row schema version
)
CLUSTER BY (partition_date);

-- A manifest written before rows carried provenance gains the column (NULL: every row
-- differs, so the next sync rewrites them from the embedding cache).
ALTER TABLE ops.vector_manifest ADD COLUMN IF NOT EXISTS metadata_hash VARCHAR;

CREATE TABLE IF NOT EXISTS ops.dead_letters (
    dead_letter_id VARCHAR NOT NULL,    -- hash of source, file, line and payload
    source VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,             -- e.g. raw_gong_calls
    source_file VARCHAR,
    line_no INTEGER,
    partition_date DATE,
    payload VARCHAR,
    error VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,
    first_seen TIMESTAMP_NTZ NOT NULL,
    last_seen TIMESTAMP_NTZ NOT NULL
)
CLUSTER BY (source, partition_date);

CREATE TABLE IF NOT EXISTS ops.embed_runs (
    run_id VARCHAR NOT NULL,
    asset VARCHAR NOT NULL,
    partition_range VARCHAR,
    texts_total INTEGER NOT NULL,
    texts_embedded INTEGER NOT NULL,
    cache_hits INTEGER NOT NULL,
    seconds FLOAT NOT NULL,
    recorded_at TIMESTAMP_NTZ NOT NULL
);
