-- The executive dashboard's data: the last 30 days, one row per day with calls, average
-- call sentiment, unique accounts on calls and the competitors mentioned (any source).
-- Days with no activity have no row; readers fill them with zeros.
--
-- A dynamic table, not a materialized view: a Snowflake materialized view reads exactly
-- one table (no joins, no UNION), allows no non-deterministic function such as
-- CURRENT_DATE (so no rolling 30-day window), and limits its aggregates (exact
-- COUNT(DISTINCT ...) among those left out); this query needs all three. A dynamic
-- table supports them with incremental refresh (UNION ALL, GROUP BY, COUNT DISTINCT,
-- and CURRENT_DATE in WHERE, which Snowflake accepts only with an explicit
-- REFRESH_MODE = INCREMENTAL), and TARGET_LAG bounds staleness to 5 minutes without a
-- scheduler of ours.
--
-- WAREHOUSE names the virtual warehouse that runs the refreshes: it must exist in the
-- production account (a deploy prerequisite; DDL files take no parameters).
--
-- DuckDB has no dynamic tables: the loader (store/warehouse.py: ddl_statements)
-- renders every dynamic table as a plain view over the same query, which is a dynamic
-- table with zero lag.
CREATE DYNAMIC TABLE IF NOT EXISTS executive_intelligence.executive_dashboard_daily
    TARGET_LAG = '5 minutes'
    WAREHOUSE = SOPHIA_WH
    REFRESH_MODE = INCREMENTAL
AS
SELECT
    activity_date,
    COUNT(DISTINCT call_id) AS total_calls,
    AVG(sentiment_score) AS avg_sentiment,
    COUNT(DISTINCT account_id) AS unique_accounts,
    COUNT(DISTINCT competitor) AS competitors_mentioned,
    COUNT(mention_id) AS competitor_mentions
FROM (
    SELECT
        call_date AS activity_date,
        call_id,
        sentiment_score,
        account_id,
        CAST(NULL AS VARCHAR) AS competitor,
        CAST(NULL AS VARCHAR) AS mention_id
    FROM gong_intelligence.call_transcripts
    WHERE call_date >= DATEADD(day, -29, CURRENT_DATE())
    UNION ALL
    SELECT
        TO_DATE(mentioned_at) AS activity_date,
        CAST(NULL AS VARCHAR) AS call_id,
        CAST(NULL AS FLOAT) AS sentiment_score,
        CAST(NULL AS VARCHAR) AS account_id,
        competitor,
        mention_id
    FROM competitive_intelligence.competitor_mentions
    WHERE mentioned_at >= DATEADD(day, -29, CURRENT_DATE())
) AS activity
GROUP BY activity_date;
