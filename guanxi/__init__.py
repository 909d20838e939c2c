"""Guanxi (关系): an open-source customer relationship management system."""

__version__ = "0.1.0"
