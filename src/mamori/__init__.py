"""Mamori: a privacy policy as running, enforced, provable software."""

__version__ = "0.1.0"
