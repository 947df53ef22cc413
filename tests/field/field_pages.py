"""Pull pages for the field app's tests, shaped as docs/sync-protocol.md "Pull" shows."""

from __future__ import annotations

from typing import Any


def stop_page(
    stop_id: int, register_id: int, *, cursor: str = "c1", sequence: int = 10
) -> dict[str, Any]:
    """A pull page with one stop of one kWh register (docs/sync-protocol.md, Pull)."""
    return {
        "protocol": 1,
        "cursor": cursor,
        "has_more": False,
        "stops": [
            {
                "stop_id": stop_id,
                "route": {"code": "R01", "name": "Kothrud East"},
                "sequence": sequence,
                "meter": {"id": stop_id + 100, "serial": f"M{stop_id:05d}", "kind": "manual",
                          "probe_address": ""},
                "account": {"number": f"A{stop_id:04d}", "category": "domestic", "status": "active"},
                "premise": {"address": f"{stop_id} MG Road", "postal_code": "411038",
                            "latitude": 18.5, "longitude": 73.8, "access_notes": "dog in yard"},
                "registers": [
                    {"id": register_id, "obis_code": "1.8.0", "unit": "kWh", "digits": 6,
                     "decimals": 1, "tou_period": "",
                     "last_read": {"value_milli": 10_300_000, "read_at": "2026-10-21T06:00:00+00:00"},
                     "expected": {"low_milli": 10_450_000, "high_milli": 10_900_000}},
                ],
            }
        ],
        "tombstones": [],
        "messages": [],
    }  # fmt: skip
