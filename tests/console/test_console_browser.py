"""The console in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

One server process (``gridbill serve``) runs on a copy of the demo utility for the module;
each test signs in through the form in a fresh browser context. Screenshots are saved
under pytest's temporary directory (the path is printed), or under
``GRIDBILL_CONSOLE_SCREENSHOTS`` when set (how docs/images/console/ was made). Budget:
under a minute on 2 cores after the demo is loaded (the brief allows 3).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.routes import PAGES
from demo.tariffs import TARIFFS
from domain.access import ROLE_OPERATIONS
from domain.enums import Role
from services.reports.catalog import NAMES
from tests.conftest import TEST_SECRET_KEY

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STAFF, PASSWORD = "staff1@gridbill.example", "demo-staff-1"
REPORT_PERIOD = "2026-04"  # the demo's last whole billed month
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tariffs"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(
    demo_template: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    root = tmp_path_factory.mktemp("console-browser")
    database, var = demo_template
    shutil.copyfile(database, root / "demo.sqlite3")
    shutil.copytree(var, root / "var")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDBILL_", "DATABASE_URL"))}
    env.update(
        GRIDBILL_ENV="test", DATABASE_URL=f"sqlite://{root / 'demo.sqlite3'}",
        GRIDBILL_VAR_DIR=str(root / "var"), GRIDBILL_SECRET_KEY=TEST_SECRET_KEY,
        GRIDBILL_BASE_URL=base,
    )  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"the server did not start: {process.stdout and process.stdout.read()}"
                    )
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout:
            process.stdout.close()


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("GRIDBILL_CONSOLE_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("console-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"console screenshots in {folder}")
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as play:
        launched = play.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object, server: str) -> Iterator[object]:
    """A fresh context (own cookies) signed in as staff through the sign-in form."""
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.goto("/console/")
    assert "/console/sign-in" in tab.url
    tab.get_by_label("E-mail or phone").fill(STAFF)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(f"{server}/console/")
    yield tab
    context.close()


def test_sign_in_search_and_open_an_account(browser: object, server: str, screens: Path) -> None:
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.goto("/console/sign-in")
    tab.screenshot(path=str(screens / "sign-in.png"))
    tab.get_by_label("E-mail or phone").fill(STAFF)
    tab.get_by_label("Password").fill("wrong-password")
    tab.get_by_role("button", name="Sign in").click()
    assert "is not right" in tab.get_by_role("alert").inner_text()
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(f"{server}/console/")
    tab.screenshot(path=str(screens / "home.png"))

    for _ in range(3):  # keyboard only: the skip link, the home link, the search box
        tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.id") == "q"
    tab.keyboard.type("Kulkarni")
    tab.keyboard.press("Enter")
    tab.wait_for_url(re.compile(r".*/console/search\?q=Kulkarni"))
    tab.screenshot(path=str(screens / "search.png"))
    tab.get_by_role("link", name="171000000001").click()
    tab.wait_for_url(f"{server}/console/accounts/1")
    assert tab.get_by_role("heading", name="Account 171000000001").is_visible()
    assert tab.locator("svg.chart").count() >= 1
    tab.screenshot(path=str(screens / "account.png"), full_page=True)
    tab.set_viewport_size({"width": 768, "height": 1024})  # a tablet held upright
    assert tab.evaluate("document.documentElement.scrollWidth") <= 768
    tab.screenshot(path=str(screens / "account-tablet.png"))
    tab.get_by_role("button", name="Sign out").click()
    tab.wait_for_url(f"{server}/console/sign-in")
    context.close()


def test_run_review_and_issue_a_bill_run(page: object, server: str, screens: Path) -> None:
    tab = page
    tab.goto("/console/bill-runs")  # type: ignore[attr-defined]
    tab.get_by_label("Cycle").select_option("CYC-02")  # type: ignore[attr-defined]
    tab.get_by_label("Month").fill("2026-05")  # type: ignore[attr-defined]
    tab.get_by_role("button", name="Start run").click()  # type: ignore[attr-defined]
    tab.wait_for_url(re.compile(r".*/console/bill-runs/\d+$"))  # type: ignore[attr-defined]
    # htmx polls the progress and reloads the page when the run ends
    tab.get_by_role("heading", name="Drafts and bills").wait_for()  # type: ignore[attr-defined]
    assert "completed" in tab.locator("#progress").inner_text()  # type: ignore[attr-defined]
    tab.screenshot(path=str(screens / "bill-run.png"), full_page=True)  # type: ignore[attr-defined]
    drafts = tab.locator("tbody tr").count()  # type: ignore[attr-defined]
    assert drafts >= 1
    tab.get_by_role("button", name="Issue every draft of this run").click()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while "draft" in tab.locator("tbody").inner_text():  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the drafts were not issued"
        time.sleep(0.5)
        tab.reload()  # type: ignore[attr-defined]
    assert tab.locator("tbody tr").count() == drafts  # type: ignore[attr-defined]


def test_counter_payment_and_its_printed_receipt(page: object, screens: Path) -> None:
    tab = page
    tab.goto("/console/accounts/1")  # type: ignore[attr-defined]
    tab.get_by_role("link", name="Take a counter payment").click()  # type: ignore[attr-defined]
    assert tab.get_by_label("Account number").input_value() == "171000000001"  # type: ignore[attr-defined]
    tab.get_by_label("Amount (₹)").fill("2,500.50")  # type: ignore[attr-defined]
    tab.get_by_label("Received on").fill("2026-05-09")  # type: ignore[attr-defined]
    tab.screenshot(path=str(screens / "counter.png"), full_page=True)  # type: ignore[attr-defined]
    tab.get_by_role("button", name="Record and print receipt").click()  # type: ignore[attr-defined]
    tab.wait_for_url(re.compile(r".*/receipt$"))  # type: ignore[attr-defined]
    receipt = tab.locator("pre.receipt").inner_text()  # type: ignore[attr-defined]
    assert "₹2,500.50" in receipt and "RC/" in receipt
    tab.screenshot(path=str(screens / "receipt.png"))  # type: ignore[attr-defined]
    pdf = tab.pdf()  # type: ignore[attr-defined]  # what the Print button prints (print CSS)
    (screens / "receipt.pdf").write_bytes(pdf)
    from pypdf import PdfReader

    printed = PdfReader(screens / "receipt.pdf").pages[0].extract_text()
    number = re.search(r"RC/\S+", receipt).group(0)  # type: ignore[union-attr]
    assert number in printed and "Sign out" not in printed  # the nav is not printed


def test_resolve_a_vee_exception(page: object, screens: Path) -> None:
    tab = page
    tab.goto("/console/vee")  # type: ignore[attr-defined]
    tab.locator("tbody a").first.click()  # type: ignore[attr-defined]
    tab.wait_for_url(re.compile(r".*/console/vee/\d+$"))  # type: ignore[attr-defined]
    assert tab.locator("svg.chart rect.flagged").count() == 1  # type: ignore[attr-defined]
    tab.screenshot(path=str(screens / "vee.png"), full_page=True)  # type: ignore[attr-defined]
    tab.get_by_label("Accept: the value is right. Reason").fill("meter replaced, read checked")  # type: ignore[attr-defined]
    tab.get_by_role("button", name="Accept").click()  # type: ignore[attr-defined]
    tab.wait_for_url(re.compile(r".*/console/vee\?done=accepted"))  # type: ignore[attr-defined]
    assert "accepted" in tab.get_by_role("status").inner_text()  # type: ignore[attr-defined]


def test_import_a_tariff_with_an_error_then_fix_it(page: object, screens: Path) -> None:
    tab = page
    document = (FIXTURES / "msedcl_2020_21_lt1b_residential.json").read_text()
    tab.goto("/console/tariffs")  # type: ignore[attr-defined]
    tab.get_by_label("Tariff document (JSON)").fill(document.replace('"rate": "', '"rate": "x', 1))  # type: ignore[attr-defined]
    tab.get_by_label("Takes effect on").fill("2027-04-01")  # type: ignore[attr-defined]
    tab.get_by_role("button", name="Preview").click()  # type: ignore[attr-defined]
    assert "tariff document rejected" in tab.get_by_role("alert").inner_text()  # type: ignore[attr-defined]
    tab.get_by_label("Tariff document (JSON)").fill(document)  # type: ignore[attr-defined]
    tab.get_by_role("button", name="Preview").click()  # type: ignore[attr-defined]
    tab.get_by_role("heading", name=re.compile("Preview of MSEDCL-LT-IB")).wait_for()  # type: ignore[attr-defined]
    # a revision of a tariff in force is quoted side by side with the current version
    revised = copy.deepcopy(next(t.document for t in TARIFFS if t.code == "LT-1A"))
    revised["fixed_charges"][0]["rate"] = "150"
    tab.get_by_label("Tariff document (JSON)").fill(json.dumps(revised, indent=2))  # type: ignore[attr-defined]
    tab.get_by_role("button", name="Preview").click()  # type: ignore[attr-defined]
    tab.get_by_text("Against version 1").wait_for()  # type: ignore[attr-defined]
    assert tab.locator("tbody tr").last.inner_text().count("₹") == 3  # type: ignore[attr-defined]
    tab.screenshot(path=str(screens / "tariff-preview.png"), full_page=True)  # type: ignore[attr-defined]


def test_answer_a_support_request_and_post_a_credit_note(page: object, screens: Path) -> None:
    tab = page
    tab.goto("/console/search?q=170100000005")  # type: ignore[attr-defined]  # the demo's request
    tab.get_by_role("link", name="170100000005").click()  # type: ignore[attr-defined]
    tab.get_by_label(re.compile(r"^Answer to SR/")).fill("We re-read the meter: the bill is right.")  # type: ignore[attr-defined]
    tab.get_by_role("button", name="Send").click()  # type: ignore[attr-defined]
    tab.wait_for_url(re.compile(r".*done=reply\+sent"))  # type: ignore[attr-defined]
    assert "reply sent" in tab.get_by_role("status").inner_text()  # type: ignore[attr-defined]
    tab.locator("section.support").first.screenshot(path=str(screens / "support-request.png"))  # type: ignore[attr-defined]
    tab.get_by_text("Post a credit or debit note").click()  # type: ignore[attr-defined]
    tab.get_by_label("Kind").select_option("credit_note")  # type: ignore[attr-defined]
    tab.get_by_label("Amount (₹)").fill("1,250.50")  # type: ignore[attr-defined]
    tab.get_by_label("Reason").fill("meter misread in March")  # type: ignore[attr-defined]
    tab.locator("details.action").screenshot(path=str(screens / "adjustment.png"))  # type: ignore[attr-defined]
    tab.get_by_role("button", name="Post the note").click()  # type: ignore[attr-defined]
    tab.wait_for_url(re.compile(r".*done=CN"))  # type: ignore[attr-defined]
    assert "-₹1,250.50" in tab.locator("#adjustments + div").inner_text()  # type: ignore[attr-defined]


def test_open_each_report_page(page: object, screens: Path) -> None:
    """Every report with its charts, chosen by keyboard from the pickers; tablet width too."""
    tab = page
    tab.goto("/console/reports")  # type: ignore[attr-defined]
    tab.screenshot(path=str(screens / "reports.png"))  # type: ignore[attr-defined]
    for name in NAMES:
        tab.goto(f"/console/reports/{name}?period={REPORT_PERIOD}")  # type: ignore[attr-defined]
        assert tab.locator("h1").inner_text()  # type: ignore[attr-defined]
        assert tab.locator("figure svg.chart").count() >= 1, name  # type: ignore[attr-defined]
        assert tab.get_by_role("link", name="CSV").count() == 1  # type: ignore[attr-defined]
        tab.screenshot(path=str(screens / f"report-{name}.png"), full_page=True)  # type: ignore[attr-defined]
    # the cycle picker by keyboard: focus the select, choose, Tab to Show, Enter
    tab.get_by_label("Billing cycle").focus()  # type: ignore[attr-defined]
    tab.get_by_label("Billing cycle").select_option("CYC-01")  # type: ignore[attr-defined]
    tab.keyboard.press("Tab")  # type: ignore[attr-defined]
    assert tab.evaluate("document.activeElement.textContent") == "Show"  # type: ignore[attr-defined]
    tab.keyboard.press("Enter")  # type: ignore[attr-defined]
    tab.wait_for_url(re.compile(r".*cycle=CYC-01"))  # type: ignore[attr-defined]
    assert "cycle CYC-01" in tab.locator(".scope").inner_text()  # type: ignore[attr-defined]
    tab.set_viewport_size({"width": 768, "height": 1024})  # type: ignore[attr-defined]
    for name in ("ageing", "billing-summary"):
        tab.goto(f"/console/reports/{name}?period={REPORT_PERIOD}")  # type: ignore[attr-defined]
        assert tab.evaluate("document.documentElement.scrollWidth") <= 768, name  # type: ignore[attr-defined]
    tab.screenshot(path=str(screens / "report-billing-summary-tablet.png"), full_page=True)  # type: ignore[attr-defined]


def test_every_page_loads_with_the_network_blocked(
    page: object, server: str, demo_template: tuple[Path, Path]
) -> None:
    """Nothing but the server is ever asked for: no CDN, no font, no analytics."""
    tab = page
    elsewhere: list[str] = []
    failed: list[str] = []

    def guard(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(server + "/"):
            route.continue_()  # type: ignore[attr-defined]
        else:
            elsewhere.append(url)
            route.abort()  # type: ignore[attr-defined]

    tab.context.route("**/*", guard)  # type: ignore[attr-defined]
    tab.on("requestfailed", lambda request: failed.append(request.url))  # type: ignore[attr-defined]
    tab.on("console", lambda message: message.type == "error" and failed.append(message.text))  # type: ignore[attr-defined]
    ids = {"account_id": "1", "bill_id": "1", "run_id": "1", "exception_id": "1", "route_id": "1"}
    with sqlite3.connect(demo_template[0]) as demo:  # a payment the demo loaded, at the counter
        (ids["reference"],) = demo.execute(
            "SELECT reference FROM payments WHERE receipt_number IS NOT NULL ORDER BY id LIMIT 1"
        ).fetchone()
    visited = 0
    for listed in PAGES:
        if "GET" not in listed.methods or listed.path.endswith(("/progress", "/download")):
            continue  # a fragment, a file
        if listed.operation not in ROLE_OPERATIONS[Role.STAFF]:  # signed in as staff
            continue
        for name in NAMES if "{name}" in listed.path else ("",):  # every report page
            ids["name"] = name
            path = "/console" + re.sub(r"\{(\w+)(:\w+)?\}", lambda m: ids[m.group(1)], listed.path)
            if name:
                path += f"?period={REPORT_PERIOD}"
            answer = tab.goto(path)  # type: ignore[attr-defined]
            assert answer is not None and answer.status == 200, path
            assert tab.evaluate("typeof window.htmx") == "object", path  # type: ignore[attr-defined]
            visited += 1
    assert visited >= 16
    tab.goto("/graphql")  # type: ignore[attr-defined]  # GraphiQL, from our own assets alone
    tab.locator(".graphiql-editors").first.wait_for()  # type: ignore[attr-defined]
    for kind in ("csv", "xlsx"):  # the downloads, fetched from the page (a goto would save them)
        status = tab.evaluate(  # type: ignore[attr-defined]
            f"fetch('/console/reports/ageing/download?format={kind}&period={REPORT_PERIOD}')"
            ".then(r => r.status)"
        )
        assert status == 200, kind
    assert elsewhere == [] and failed == []
