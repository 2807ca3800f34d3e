"""Pure processing: chunking, embedding batches, tagging. Knows nothing of Dagster."""
