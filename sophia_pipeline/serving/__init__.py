"""Serving: search, answers and the read API over what the pipeline built (the service
layer, the MCP server and the HTTP API). Reads the stores; never imports Dagster
definitions or the ingestion code."""
