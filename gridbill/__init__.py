"""gridbill: electricity bill management for a utility."""

__version__ = "0.1.0"
