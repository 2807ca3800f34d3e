"""The bundled, deterministic sample data for the local profile."""

from .generator import generate, owned

__all__ = ["generate", "owned"]
