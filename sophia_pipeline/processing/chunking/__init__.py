"""Chunking strategies, one module per document kind."""
