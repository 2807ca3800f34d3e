-- Schemas of the Sophia warehouse. Snowflake SQL; DuckDB runs the sqlglot transpilation.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS embeddings;
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SCHEMA IF NOT EXISTS gong_intelligence;
CREATE SCHEMA IF NOT EXISTS competitive_intelligence;
CREATE SCHEMA IF NOT EXISTS executive_intelligence;
