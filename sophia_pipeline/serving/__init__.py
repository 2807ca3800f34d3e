"""Serving: the read API over the stores (search, answers), the MCP server and the HTTP API.
Never imports defs/, sources/ or processing/."""
