-- Raw layer: append-only, immutable history, one table per source. A record version is
-- stored once per distinct content (record_id + content_hash), so re-loading a landing
-- file adds nothing; partition_date is the day the version landed.
--
-- Every source's raw table has this one shape, so this file is a template:
-- store/warehouse.py renders it once per raw table, {table} being each registered
-- source's table (SourceSpec.raw_table in sources/registry.py, e.g. raw.gong_calls,
-- handed to the Warehouse resource as raw_tables). A new source gets its table from its
-- registry entry, with no line added here.

CREATE TABLE IF NOT EXISTS {table} (
    entity VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    partition_date DATE NOT NULL,
    source_file VARCHAR,
    line_no INTEGER,
    payload VARCHAR NOT NULL,           -- the landing record, JSON text
    loaded_at TIMESTAMP_NTZ NOT NULL
)
CLUSTER BY (partition_date);
