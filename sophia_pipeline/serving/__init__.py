"""Serving: search and the read API over what the pipeline built (the MCP server and the
HTTP API). Reads the stores; never imports Dagster definitions or the ingestion code."""
