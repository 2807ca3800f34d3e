-- Executive intelligence: daily KPI rollups, the LLM requests and spend they are measured
-- against, and every competitor alert the alert sensor raised. Formulas: processing/kpis/formulas.py.

-- One row per day (the rollup "as of" the end of that UTC day). A run replaces the rows
-- of its partition window, so a backfill never duplicates a day.
CREATE TABLE IF NOT EXISTS executive_intelligence.kpi_rollups (
    kpi_date DATE NOT NULL,
    revenue_mtd FLOAT NOT NULL,             -- closed-won amounts, 1st of the month .. kpi_date
    deals_won_mtd INTEGER NOT NULL,
    pipeline_value FLOAT NOT NULL,          -- open deals, amount x stage probability
    pipeline_value_unweighted FLOAT NOT NULL,
    open_deals INTEGER NOT NULL,
    customer_health_score FLOAT,            -- 0..100, mean over accounts; null: none scored
    accounts_scored INTEGER NOT NULL,
    competitive_win_rate FLOAT,             -- 0..1; null: no competitive deal closed
    competitive_deals_won INTEGER NOT NULL,
    competitive_deals_lost INTEGER NOT NULL,
    team_productivity_score FLOAT,          -- (issues closed + PRs merged) / active people
    issues_closed INTEGER NOT NULL,
    prs_merged INTEGER NOT NULL,
    active_people INTEGER NOT NULL,
    llm_cost_efficiency FLOAT,              -- LLM requests answered per USD; null: no LLM
    llm_cost_usd FLOAT,
    computed_at TIMESTAMP_NTZ NOT NULL
)
CLUSTER BY (kpi_date);

-- One row per LLM request answered, written by the LLM gateway (resources/llm_gateway.py)
-- as each call returns, and by whoever serves an answer from the semantic cache (a hit:
-- no tokens, no cost). Empty while no LLM is configured, which is why
-- llm_cost_efficiency is null then. Cost comes from processing/llm_pricing.py: the reply
-- carries token counts, not prices.
CREATE TABLE IF NOT EXISTS executive_intelligence.llm_usage (
    usage_date DATE NOT NULL,
    provider VARCHAR NOT NULL,              -- portkey provider or virtual key's provider
    model VARCHAR NOT NULL,                 -- the model that answered, as it named itself
    requests INTEGER NOT NULL,              -- 1: each row is one answered request
    cache_hits INTEGER NOT NULL,            -- 1 when the semantic cache answered it
    input_tokens INTEGER NOT NULL,          -- prompt tokens
    output_tokens INTEGER NOT NULL,         -- completion tokens
    cost_usd FLOAT NOT NULL,                -- 0 for cache hits and unpriced models
    usage_id VARCHAR,                       -- unique per request: writes upsert by it
    called_at TIMESTAMP_NTZ,
    purpose VARCHAR,                        -- answer | gong_summary
    priced BOOLEAN                          -- false: model not in the price table
)
CLUSTER BY (usage_date);

-- The table's first version (one row per day and model, never written) had only the
-- first eight columns: an existing warehouse gains the others on its next start.
ALTER TABLE executive_intelligence.llm_usage ADD COLUMN IF NOT EXISTS usage_id VARCHAR;
ALTER TABLE executive_intelligence.llm_usage ADD COLUMN IF NOT EXISTS called_at TIMESTAMP_NTZ;
ALTER TABLE executive_intelligence.llm_usage ADD COLUMN IF NOT EXISTS purpose VARCHAR;
ALTER TABLE executive_intelligence.llm_usage ADD COLUMN IF NOT EXISTS priced BOOLEAN;

-- One row per alert, keyed by a dedupe key (rule, competitor, day, threshold): a sensor
-- re-tick finds the key and never posts the same crossing twice.
CREATE TABLE IF NOT EXISTS executive_intelligence.alerts (
    alert_id VARCHAR NOT NULL,              -- the dedupe key (sha256 of the crossing)
    rule VARCHAR NOT NULL,                  -- threat_level | mention_count
    competitor VARCHAR NOT NULL,
    alert_date DATE NOT NULL,               -- the day whose value crossed the threshold
    metric_value FLOAT NOT NULL,
    previous_value FLOAT NOT NULL,          -- the day before's value (0 without mentions)
    threshold FLOAT NOT NULL,
    message VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,               -- JSON text, exactly what was posted
    status VARCHAR NOT NULL,                -- posted | failed | unsent (no webhook set)
    attempts INTEGER NOT NULL,              -- HTTP attempts over all ticks
    last_error VARCHAR,
    created_at TIMESTAMP_NTZ NOT NULL,
    posted_at TIMESTAMP_NTZ
)
CLUSTER BY (alert_date);
