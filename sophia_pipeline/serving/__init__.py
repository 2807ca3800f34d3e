"""Serving: search and the read API over what the pipeline built. Reads the stores;
never imports Dagster definitions or the ingestion code."""
