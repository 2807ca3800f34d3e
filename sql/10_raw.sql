-- Raw layer: append-only, immutable history. A record is stored once per distinct
-- content (record_id + content_hash), so re-loading a landing file adds nothing.
CREATE TABLE IF NOT EXISTS raw.gong_calls (
    record_id VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    partition_date DATE NOT NULL,
    source_file VARCHAR,
    line_no INTEGER,
    payload VARCHAR NOT NULL,           -- the landing record, JSON text
    loaded_at TIMESTAMP_NTZ NOT NULL
)
CLUSTER BY (partition_date);
