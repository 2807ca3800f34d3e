-- How far each webhook source's landed events have been processed into the raw layer.
CREATE TABLE IF NOT EXISTS ops.webhook_cursors (
    source VARCHAR NOT NULL,
    cursor VARCHAR NOT NULL,            -- the landing store's opaque cursor
    run_id VARCHAR,
    committed_at TIMESTAMP_NTZ NOT NULL
);
