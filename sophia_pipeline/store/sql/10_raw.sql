-- Raw layer: append-only, immutable history, one table per source. A record version is
-- stored once per distinct content (record_id + content_hash), so re-loading a landing
-- file adds nothing; partition_date is the day the version landed.

CREATE TABLE IF NOT EXISTS raw.gong_calls (
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

CREATE TABLE IF NOT EXISTS raw.hubspot_objects (
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

CREATE TABLE IF NOT EXISTS raw.slack_messages (
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

CREATE TABLE IF NOT EXISTS raw.linear_issues (
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

CREATE TABLE IF NOT EXISTS raw.github_events (
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

CREATE TABLE IF NOT EXISTS raw.costar_properties (
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

CREATE TABLE IF NOT EXISTS raw.apollo_contacts (
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
