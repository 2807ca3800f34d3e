-- Normalized documents from every source, and their token-bounded chunks.
CREATE TABLE IF NOT EXISTS staging.documents (
    doc_id VARCHAR NOT NULL,            -- source:entity_type:source_id
    source VARCHAR NOT NULL,
    entity_type VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,              -- conversation | document | code | crm
    title VARCHAR,
    text VARCHAR,
    turns VARCHAR,                      -- JSON text: [{speaker, role, text, start_s}]
    author VARCHAR,
    account_id VARCHAR,
    deal_id VARCHAR,
    occurred_at TIMESTAMP_NTZ NOT NULL,
    updated_at TIMESTAMP_NTZ,
    deleted BOOLEAN NOT NULL,
    attributes VARCHAR,                 -- JSON text
    partition_date DATE NOT NULL
)
CLUSTER BY (source, partition_date);

CREATE TABLE IF NOT EXISTS staging.chunks (
    chunk_id VARCHAR NOT NULL,          -- doc_id#ordinal
    doc_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    ordinal INTEGER NOT NULL,
    text VARCHAR NOT NULL,
    start_char INTEGER NOT NULL,
    end_char INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    label VARCHAR,
    content_hash VARCHAR NOT NULL,
    chunker_version VARCHAR NOT NULL,   -- of the strategy that cut it
    sentiment FLOAT,                    -- VADER compound of the text, [-1, 1]
    partition_date DATE NOT NULL
)
CLUSTER BY (source, partition_date);
