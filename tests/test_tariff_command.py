"""Entering a tariff order from the command line: validated, versioned, assigned."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from tortoise.context import TortoiseContext

from services.billing.tariffs import assign
from services.viewer import acting_as
from store.db import open_database
from store.models import (
    TariffAssignment,
    TariffVersion,
)
from tests import factories as f

ORDER = Path(__file__).parent / "fixtures" / "tariffs" / "derc_2019_20_domestic.json"


def gridbill(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "tariff", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def test_versions_are_validated_dated_and_closed(
    subprocess_env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    first = gridbill(
        subprocess_env,
        "import",
        str(ORDER),
        "--effective-from",
        "2019-08-01",
        "--category",
        "domestic",
    )
    assert first.returncode == 0, first.stderr
    assert "stored DERC-DOM-1.1 version 1 from 2019-08-01" in first.stdout

    revised = json.loads(ORDER.read_text())
    revised["name"] += " (revised)"
    revised_file = tmp_path / "revised.json"
    revised_file.write_text(json.dumps(revised))
    second = gridbill(subprocess_env, "import", str(revised_file), "--effective-from", "2020-04-01")
    assert second.returncode == 0, second.stderr
    assert "version 2 from 2020-04-01, closing version 1" in second.stdout

    backdated = gridbill(
        subprocess_env, "import", str(revised_file), "--effective-from", "2020-01-01"
    )
    assert backdated.returncode == 1
    assert (
        "a new version must start after it" in backdated.stderr
        and "Traceback" not in backdated.stderr
    )

    broken = dict(revised, currency="RUPEES")
    broken_file = tmp_path / "broken.json"
    broken_file.write_text(json.dumps(broken))
    rejected = gridbill(
        subprocess_env, "import", str(broken_file), "--effective-from", "2021-04-01"
    )
    assert rejected.returncode == 1
    assert "tariff document rejected: currency:" in rejected.stderr

    async with open_database(database_url):
        versions = await TariffVersion.all().order_by("version")
        assert [(v.version, v.effective_from, v.effective_to) for v in versions] == [
            (1, date(2019, 8, 1), date(2020, 4, 1)),
            (2, date(2020, 4, 1), None),
        ]
        assert versions[0].document_sha256 != versions[1].document_sha256
        assert versions[0].document["code"] == "DERC-DOM-1.1"

    listing = gridbill(subprocess_env, "list")
    assert "DERC-DOM-1.1" in listing.stdout and "v2" in listing.stdout


async def test_assignment_moves_an_account_from_a_date(
    db: TortoiseContext, subprocess_env: dict[str, str]
) -> None:
    delhi = {"address_line1": "1 Rd", "city": "Delhi", "state": "DL", "postal_code": "110001"}
    point = await f.service_point(premise=delhi)
    await f.account(number="A-1", point=point, load_w=2000, connected_on=date(2019, 1, 1))
    imported = gridbill(subprocess_env, "import", str(ORDER), "--effective-from", "2019-08-01")
    assert imported.returncode == 0, imported.stderr

    await assign(
        acting_as("test"), account_number="A-1", tariff_code="DERC-DOM-1.1",
        effective_from=date(2019, 8, 1),
    )  # fmt: skip
    moved = gridbill(
        subprocess_env,
        "assign",
        "--account",
        "A-1",
        "--tariff",
        "DERC-DOM-1.1",
        "--from",
        "2019-07-01",
    )
    assert moved.returncode == 1 and "must start after it" in moved.stderr
    unknown = gridbill(
        subprocess_env,
        "assign",
        "--account",
        "A-404",
        "--tariff",
        "DERC-DOM-1.1",
        "--from",
        "2020-01-01",
    )
    assert unknown.returncode == 1 and "no account numbered A-404" in unknown.stderr
    assert await TariffAssignment.filter(account__number="A-1").count() == 1
