"""Persistence: Tortoise models, migrations and database lifecycle."""
