"""The raw layer's one table shape, as the tests expect it (the DDL template's columns)."""

RAW_COLUMNS = [
    "entity",
    "record_id",
    "content_hash",
    "partition_date",
    "source_file",
    "line_no",
    "payload",
    "loaded_at",
]
