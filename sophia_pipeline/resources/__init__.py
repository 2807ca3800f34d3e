"""Resource classes: warehouse, vector store, cache, embedder, API clients.

Each interface has a local implementation (no account anywhere) and a production one;
assets depend on the interface only.
"""
