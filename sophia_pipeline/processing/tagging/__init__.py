"""Taggers: sentiment, competitor mentions, talking points, call outcome."""
