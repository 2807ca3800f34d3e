"""The bundled, deterministic sample data for the local profile."""

from .generator import OWNED, generate

__all__ = ["OWNED", "generate"]
