"""NaN and Infinity are not JSON: refused where gridbill reads outside input."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from domain.strict_json import loads


@pytest.mark.parametrize("text", ['{"v": NaN}', "[1, Infinity]", b'{"v": -Infinity}'])
def test_the_constants_python_accepts_are_malformed_json(text: str | bytes) -> None:
    with pytest.raises(json.JSONDecodeError, match="is not a JSON number"):
        loads(text)


def test_real_json_reads_as_before() -> None:
    assert loads('{"v": 1.10, "w": "NaN"}', parse_float=Decimal) == {
        "v": Decimal("1.10"),
        "w": "NaN",
    }
