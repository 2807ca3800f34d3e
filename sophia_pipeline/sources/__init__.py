"""One module per source: its landing record schema and normalize-to-document."""
