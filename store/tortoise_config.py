"""Entry point for Tortoise's own CLI (``tortoise makemigrations``), see pyproject [tool.tortoise]."""

from gridbill.settings import get_settings
from store.db import tortoise_config

TORTOISE_ORM = tortoise_config(get_settings().database_url)
