-- Reliability state of the production readers. Each row here is written in the same
-- transaction as the raw rows it describes, so a crash can never leave a checkpoint or
-- cursor ahead of (records skipped) or behind (records re-read, then de-duplicated) the
-- data it vouches for.

-- Batch-file checkpoints (CoStar): how far into a file the loader has committed.
CREATE TABLE IF NOT EXISTS ops.load_checkpoints (
    source VARCHAR NOT NULL,
    file_key VARCHAR NOT NULL,          -- the file's name: a moved file keeps its place
    file_sha256 VARCHAR NOT NULL,       -- a re-delivered file with other content starts over
    rows_done INTEGER NOT NULL,         -- data rows committed (loaded or dead-lettered)
    rows_total INTEGER,                 -- known once the file is complete
    completed BOOLEAN NOT NULL,
    run_id VARCHAR,
    updated_at TIMESTAMP_NTZ NOT NULL
);

-- Polling cursors (Apollo updated_at cursor with its overlap keys, GitHub ETags).
CREATE TABLE IF NOT EXISTS ops.source_cursors (
    source VARCHAR NOT NULL,
    cursor_name VARCHAR NOT NULL,       -- e.g. contacts, or owner/repo
    cursor_value VARCHAR NOT NULL,      -- JSON
    run_id VARCHAR,
    updated_at TIMESTAMP_NTZ NOT NULL
);

-- What the dead-letter growth check saw last time, per source and partition day.
CREATE TABLE IF NOT EXISTS ops.dead_letter_watermarks (
    source VARCHAR NOT NULL,
    partition_date DATE NOT NULL,
    dead_letters INTEGER NOT NULL,
    checked_at TIMESTAMP_NTZ NOT NULL
);
