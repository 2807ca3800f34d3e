-- Content-hash embedding cache: a text already embedded by a model is never embedded
-- again. Vectors are little-endian float32 bytes.
CREATE TABLE IF NOT EXISTS embeddings.embedding_cache (
    content_hash VARCHAR NOT NULL,
    model_id VARCHAR NOT NULL,
    dim INTEGER NOT NULL,
    vector BINARY NOT NULL,
    created_at TIMESTAMP_NTZ NOT NULL
)
CLUSTER BY (model_id);
