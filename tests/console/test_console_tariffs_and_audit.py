"""Tariffs in the console: versions, a preview side by side, an import refused then fixed;
and the audit log page."""

from __future__ import annotations

import json
from pathlib import Path

from store.models import AuditLog, Route, RouteStop, Tariff, TariffVersion, User
from tests.console.conftest import ConsoleClient

ADMIN, STAFF = "admin@gridbill.example", "staff1@gridbill.example"
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tariffs"


def lt1a(console: ConsoleClient) -> dict[str, object]:
    version = console.run(TariffVersion.filter(tariff__code="LT-1A").order_by("-version").first)
    assert version is not None
    document: dict[str, object] = version.document
    return document


def test_the_preview_quotes_samples_under_both_versions_and_stores_nothing(
    console: ConsoleClient,
) -> None:
    console.as_user(STAFF)
    page = console.client.get("/console/tariffs")
    assert "LT-1A: LT-1A Residential" in page.text and "Import</button>" not in page.text
    document = lt1a(console)
    document["fixed_charges"] = [{"code": "FC", "description": "Fixed charge", "rate": "228"}]
    before = console.run(TariffVersion.all().count)
    shown = console.post(
        "/console/tariffs/preview",
        {"document": json.dumps(document), "effective_from": "2027-04-01", "samples": "0, 100"},
    )
    assert shown.status_code == 200, shown.text
    assert "Preview of LT-1A" in shown.text and "Against version" in shown.text
    # ₹100 more fixed charge, with 16% duty on it: ₹116 more whatever the usage
    assert shown.text.count("₹116.00") == 2
    assert console.run(TariffVersion.all().count) == before


def test_staff_may_not_import_an_admin_imports_after_fixing_the_error(
    console: ConsoleClient,
) -> None:
    console.as_user(STAFF)
    text = (FIXTURE / "msedcl_2020_21_lt1b_residential.json").read_text()
    form = {"document": text, "effective_from": "2027-04-01", "category": "domestic"}
    assert console.post("/console/tariffs/import", form).status_code == 403

    console.as_user(ADMIN)
    broken = json.loads(text)
    broken["fixed_charges"][0]["rate"] = "-5"
    refused = console.post("/console/tariffs/import", {**form, "document": json.dumps(broken)})
    assert refused.status_code == 400 and "tariff document rejected" in refused.text
    assert "fixed_charges" in refused.text  # the engine names the place of the error
    assert "&#34;-5&#34;" in refused.text  # the pasted document is kept to fix it
    not_json = console.post("/console/tariffs/import", {**form, "document": "{oops"})
    assert "not valid JSON" in not_json.text
    assert not console.run(Tariff.filter(code="MSEDCL-LT-IB").exists)

    stored = console.post("/console/tariffs/import", form)
    assert stored.status_code == 303 and "MSEDCL-LT-IB+version+1" in stored.headers["location"]
    admin = console.user(ADMIN)
    row = console.run(AuditLog.get, action="tariff.version_created")
    assert row.actor_id == admin.id and row.actor_label == f"user:{admin.id}"
    listed = console.client.get(stored.headers["location"])
    assert "Stored MSEDCL-LT-IB version 1" in listed.text


def test_the_audit_log_filters_and_pages(console: ConsoleClient) -> None:
    console.as_user(STAFF)
    everything = console.client.get("/console/audit")
    assert everything.status_code == 200 and "bills.issued" in everything.text
    only = console.client.get("/console/audit", params={"action": "payment."})
    assert "payment." in only.text and "bills.issued" not in only.text
    newest = console.run(AuditLog.all().order_by("-id").first)
    assert newest is not None and f"{newest.entity} {newest.entity_id}" in everything.text
    older = console.client.get("/console/audit", params={"before": str(newest.id)})
    assert f"{newest.entity} {newest.entity_id}<" not in older.text or (
        console.run(AuditLog.filter(entity=newest.entity, entity_id=newest.entity_id).count) > 1
    )
    nothing = console.client.get("/console/audit", params={"entity": "no-such-thing"})
    assert "No audit rows." in nothing.text


def test_a_reader_is_assigned_and_a_stop_moved_with_audit_rows(console: ConsoleClient) -> None:
    console.as_user(STAFF)
    route = console.run(Route.all().order_by("id").first)
    reader = console.run(User.get, email="reader@gridbill.example")
    stop = console.run(RouteStop.filter(route_id=route.id).order_by("sequence").first)  # type: ignore[union-attr]
    assert route is not None and stop is not None
    page = console.client.get("/console/routes")
    assert route.code in page.text and "No devices enrolled." not in page.text
    done = console.post(
        f"/console/routes/{route.id}/reader", {"reader": ""}, csrf_from="/console/routes"
    )
    assert done.headers["location"] == "/console/routes?done=assigned"
    assert console.run(Route.get, id=route.id).reader_id is None  # type: ignore[attr-defined]
    console.post(f"/console/routes/{route.id}/reader", {"reader": str(reader.id)})
    assert console.run(Route.get, id=route.id).reader_id == reader.id  # type: ignore[attr-defined]
    moved = console.post(f"/console/routes/stops/{stop.id}/sequence", {"sequence": "9999"})
    assert moved.headers["location"] == f"/console/routes/{route.id}?done=reordered"
    assert console.run(RouteStop.get, id=stop.id).sequence == 9999
    bad = console.post(f"/console/routes/stops/{stop.id}/sequence", {"sequence": "soon"})
    assert bad.status_code == 400 and "sequence must be" in bad.text
    staff = console.user(STAFF)
    assert (
        console.run(AuditLog.filter(actor_id=staff.id, action="route.reader_assigned").count) == 2
    )
    assert console.run(AuditLog.exists, actor_id=staff.id, action="route.stop_reordered")
    assert "9999" in console.client.get(f"/console/routes/{route.id}").text
