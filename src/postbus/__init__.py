"""Postbus: a complete mail hosting service in one package."""

__version__ = "0.1.0"
