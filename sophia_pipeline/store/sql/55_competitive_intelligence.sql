-- One row per competitor mention, from every source's chunks.
CREATE TABLE IF NOT EXISTS competitive_intelligence.competitor_mentions (
    mention_id VARCHAR NOT NULL,        -- chunk_id + character offset
    chunk_id VARCHAR NOT NULL,
    doc_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    competitor VARCHAR NOT NULL,        -- canonical name
    alias VARCHAR NOT NULL,             -- the alias that matched
    matched_text VARCHAR NOT NULL,
    context VARCHAR,                    -- the window of text around the mention
    sentiment FLOAT,                    -- [-1, 1] of the context window
    threat_level INTEGER NOT NULL,      -- 1..5, rule in processing/tagging/competitors.py
    account_id VARCHAR,
    deal_id VARCHAR,
    mentioned_at TIMESTAMP_NTZ NOT NULL,
    partition_date DATE NOT NULL
)
CLUSTER BY (partition_date, competitor);
