-- One row per Gong call; re-runs replace a call's row, never duplicate it.
CREATE TABLE IF NOT EXISTS gong_intelligence.call_transcripts (
    call_id VARCHAR NOT NULL,
    doc_id VARCHAR NOT NULL,
    title VARCHAR,
    call_date DATE NOT NULL,
    started_at TIMESTAMP_NTZ NOT NULL,
    duration_s INTEGER,
    account_id VARCHAR,
    deal_id VARCHAR,
    rep_email VARCHAR,
    participants VARCHAR,               -- JSON text: speaker names and roles
    turn_count INTEGER NOT NULL,
    transcript VARCHAR NOT NULL,
    transcript_chunks INTEGER NOT NULL,
    sentiment_score FLOAT,              -- [-1, 1], filled by the tagging stage
    competitive_mentions VARCHAR,       -- JSON text, filled by the tagging stage
    talking_points_used VARCHAR,        -- JSON text, filled by the tagging stage
    outcome_category VARCHAR,           -- from the linked deal's stage
    updated_at TIMESTAMP_NTZ NOT NULL
)
CLUSTER BY (call_date);

-- One summary per Gong call (call date = partition), written by intelligence/gong_summaries:
-- by the LLM gateway when PORTKEY_API_KEY is set, else by the extractive summarizer
-- (processing/summaries.py); `summarizer` says which. A re-run replaces the window's rows
-- and reuses a stored LLM summary whose transcript_hash and model are unchanged.
CREATE TABLE IF NOT EXISTS gong_intelligence.call_summaries (
    call_id VARCHAR NOT NULL,
    doc_id VARCHAR NOT NULL,
    call_date DATE NOT NULL,
    title VARCHAR,
    account_id VARCHAR,
    deal_id VARCHAR,
    summary VARCHAR NOT NULL,
    objections VARCHAR NOT NULL,        -- JSON text: list of strings
    next_steps VARCHAR NOT NULL,        -- JSON text: list of strings
    summarizer VARCHAR NOT NULL,        -- llm | extractive
    model VARCHAR,                      -- the LLM that wrote it; null when extractive
    transcript_hash VARCHAR NOT NULL,   -- sha256 of the turns summarized
    updated_at TIMESTAMP_NTZ NOT NULL
)
CLUSTER BY (call_date);
