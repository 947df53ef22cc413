"""The utility's VEE configuration: thresholds, estimation and the usage calendar.

:func:`load_config` reads the JSON file named by ``GRIDBILL_VEE_CONFIG``
(``domain.vee.parse_config`` says what it may hold), or uses the defaults, and adds the
window of acceptable timestamps from ``GRIDBILL_INGEST_FUTURE_MARGIN_HOURS``. The file
is re-read when it changes, so a long-running server follows edits without a restart.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from domain.vee import DEFAULT_CONFIG, ConfigError, VeeConfig, parse_config
from gridbill.errors import UserError
from gridbill.settings import Settings

_configs: dict[str, tuple[float, VeeConfig]] = {}


class VeeConfigError(UserError):
    """The VEE configuration file cannot be used; the message names the file and the key."""


def load_config(settings: Settings) -> VeeConfig:
    """The utility's VEE configuration (re-read when the file changes), with the window
    of acceptable timestamps from the environment."""
    config = _load_file(settings.vee_config_path)
    margin = timedelta(hours=settings.ingest_future_margin_hours)
    return config if config.future_margin == margin else replace(config, future_margin=margin)


def _load_file(path: str) -> VeeConfig:
    if not path:
        return DEFAULT_CONFIG
    try:
        mtime = Path(path).stat().st_mtime
        cached = _configs.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        document = json.loads(Path(path).read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        raise VeeConfigError(f"GRIDBILL_VEE_CONFIG={path}: {exc.strerror}") from None
    except ValueError as exc:
        raise VeeConfigError(f"GRIDBILL_VEE_CONFIG={path} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise VeeConfigError(f"GRIDBILL_VEE_CONFIG={path}: expected a JSON object")
    try:
        config = parse_config(document)
    except ConfigError as exc:
        raise VeeConfigError(f"GRIDBILL_VEE_CONFIG={path}: {exc}") from None
    _configs[path] = (mtime, config)
    return config
