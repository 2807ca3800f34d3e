-- What the last successful `sophia-pipeline run` ran on: one row, replaced by each such
-- run, and one fingerprint per source and landed day it processed. The command compares
-- them with what is there now and launches a run only for what changed.
CREATE TABLE IF NOT EXISTS ops.cli_run (
    run_id VARCHAR NOT NULL,
    code_fingerprint VARCHAR NOT NULL,  -- package files, settings, catalog, model
    as_of_day DATE NOT NULL,            -- the UTC day it ran (the dashboard is "as of" it)
    store_counts VARCHAR NOT NULL,      -- JSON: rows per table and vectors, after the run
    recorded_at TIMESTAMP_NTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS ops.cli_run_days (
    source VARCHAR NOT NULL,
    day DATE NOT NULL,
    fingerprint VARCHAR NOT NULL        -- of the content of that day's landing files
);
