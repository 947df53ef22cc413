"""The handset's half of field sync (docs/sync-protocol.md, version 1).

:meth:`SyncClient.sync_now` does what "Sync now" does: push what was captured (resending
an unanswered batch unchanged), upload photos (resuming where the server has them), then
pull route changes and office messages from the stored cursor, page by page. Every step
keeps its progress in the :class:`~field_app.local_store.LocalStore` before the next, so
a sync cut at any point (no signal, the app killed) carries on from there next time and
no record is sent as a new one twice.

:class:`Backoff` spaces automatic attempts while the network is down; the app calls
:meth:`SyncClient.sync_now` when one is due (see ``field_app/app.py``).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from field_app.local_store import LocalStore
from field_app.sync_http import Credential, Offline, Refused, SyncHttp

PROTOCOL = 1
APP_VERSION = "0.1.0"
MAX_BATCH_ITEMS = 500
"""Items per push: well under the server's 10,000, so a batch fits a poor network."""
PULL_LIMIT = 200
PHOTO_CHUNK = 256 * 1024


class EnrolmentError(ValueError):
    """The credential text is not one ``gridbill device enroll`` prints."""


_UID = re.compile(r"\b(dev_[0-9a-f]{6,})\b")
_CREDENTIAL_LINE = re.compile(r"credential:\s*(\S+)")


def parse_credential(text: str) -> Credential:
    """What staff type in or the QR code holds: ``dev_…:<credential>``, or the lines
    ``device_uid: dev_…`` and ``credential: …`` as ``gridbill device enroll`` prints them."""
    text = text.strip()
    line = _CREDENTIAL_LINE.search(text)
    uid = _UID.search(text)
    if line and uid:
        return Credential(uid.group(1), line.group(1))
    pair = re.fullmatch(r"(dev_[0-9a-f]{6,}):([A-Za-z0-9_\-]{16,})", text)
    if pair:
        return Credential(pair.group(1), pair.group(2))
    raise EnrolmentError(
        "enter the device UID and credential that `gridbill device enroll` printed "
        "(dev_…:credential, or both lines)"
    )


@dataclass
class SyncReport:
    """What one sync did, for the sync screen."""

    pushed: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    photos_uploaded: int = 0
    stops_received: int = 0
    stops_removed: int = 0
    messages: int = 0
    error: str | None = None
    """Why the sync stopped early (no connection, a refusal), or ``None``."""
    offline: bool = False


class Backoff:
    """Delay before the next automatic sync after ``failures`` failed ones in a row:
    ``base · 2^(failures-1)`` seconds, at most ``cap``, with ±20 % jitter so a depot's
    handsets do not all retry at the same second when the signal comes back."""

    def __init__(
        self, *, base: float = 15.0, cap: float = 900.0, rng: Callable[[], float] = random.random
    ) -> None:
        self.base, self.cap, self.rng = base, cap, rng
        self.failures = 0

    def delay(self) -> float:
        if self.failures == 0:
            return 0.0
        raw = min(self.cap, self.base * 2.0 ** (self.failures - 1))
        return float(raw * (0.8 + 0.4 * self.rng()))

    def failed(self) -> float:
        self.failures += 1
        return self.delay()

    def succeeded(self) -> None:
        self.failures = 0


class SyncClient:
    """Sync one handset's store with its server."""

    def __init__(
        self,
        store: LocalStore,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        time_zone: str = "Asia/Kolkata",
        timeout: float = 30.0,
        on_progress: Callable[[str, int], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.time_zone = time_zone
        self.timeout = timeout
        self.on_progress = on_progress or (lambda _step, _count: None)
        """Told ``("push", items)``, ``("photo", bytes sent)`` and ``("pull", stops so
        far)`` as a sync goes on (the app shows it)."""

    # -- enrolment ------------------------------------------------------------------------

    def enrol(self, server_url: str, credential_text: str) -> None:
        """Check the credential with the server (one pull page) and keep it. Enrolment
        needs the server once: staff do it at the office."""
        credential = parse_credential(credential_text)
        url = server_url.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", url):
            raise EnrolmentError("the server URL starts with https:// (or http:// on a test bench)")
        SyncHttp(url, credential, timeout=self.timeout).request("GET", "pull", query={"limit": "1"})
        previous = self.store.get("device_uid")
        reset = previous is not None and previous != credential.device_uid
        self.store.put(
            server_url=url,
            device_uid=credential.device_uid,
            credential=credential.secret,
            # Another device identity has another cursor: start its download afresh.
            cursor=None if reset else self.store.get("cursor"),
        )

    def _http(self) -> SyncHttp:
        url, uid, secret = (self.store.get(k) for k in ("server_url", "device_uid", "credential"))
        if not (url and uid and secret):
            raise Refused(401, "not_enrolled", "enrol this handset first (Settings)", {})
        return SyncHttp(url, Credential(uid, secret), timeout=self.timeout)

    # -- the whole sync -------------------------------------------------------------------

    def sync_now(self) -> SyncReport:
        """Push, upload photos, pull. Stops at the first failure, keeping all progress;
        the report says what happened and why it stopped."""
        report = SyncReport()
        try:
            self.push(report)
            self.upload_photos(report)
            self.pull(report)
        except Offline as exc:
            report.error, report.offline = str(exc), True
        except Refused as exc:
            report.error = f"{exc.code}: {exc.message}"
        now = self.clock().isoformat()
        self.store.put(
            last_sync_at=now if report.error is None else self.store.get("last_sync_at"),
            last_sync_error=report.error,
        )
        return report

    # -- push -----------------------------------------------------------------------------

    def push(self, report: SyncReport | None = None) -> SyncReport:
        """Send every queued capture, batch by batch. A batch built earlier and not
        answered (the app was killed, the answer was lost) goes again first, unchanged."""
        report = report or SyncReport()
        http = self._http()
        while True:
            batch = self.store.outbound_batch(max_items=MAX_BATCH_ITEMS, created_at=self.clock())
            if batch is None:
                return report
            batch_id, items = batch
            self.on_progress("push", len(items))
            body = {
                "protocol": PROTOCOL,
                "batch_id": batch_id,
                "device_clock": self.clock().isoformat(),
                "time_zone": self.time_zone,
                "app_version": APP_VERSION,
                "items": items,
            }
            answer = http.request("POST", "push", json_body=body)
            results = (answer.data or {}).get("results")
            if not isinstance(results, list):
                raise Offline("the server's answer had no results: will send the batch again")
            self.store.apply_results(batch_id, results)
            report.pushed += len(items)
            report.results.extend(results)
            if any((r.get("detail") or {}).get("code") == "retry" for r in results):
                return report  # the server is busy: the rest waits for the next sync

    # -- photos ---------------------------------------------------------------------------

    def upload_photos(self, report: SyncReport | None = None) -> SyncReport:
        """Upload each photo not yet complete, from the offset the server has."""
        report = report or SyncReport()
        http = self._http()
        for photo in self.store.photos_to_upload():
            path = Path(photo["path"])
            try:
                data = path.read_bytes()
            except OSError as exc:
                self.store.photo_progress(
                    photo["uuid"], bytes_sent=0, complete=False, error=f"photo file lost: {exc}"
                )
                continue
            if hashlib.sha256(data).hexdigest() != photo["sha256"]:
                self.store.photo_progress(
                    photo["uuid"], bytes_sent=0, complete=False, error="photo file changed"
                )
                continue
            if self._upload(http, photo, data):
                report.photos_uploaded += 1
        return report

    def _upload(self, http: SyncHttp, photo: dict[str, Any], data: bytes) -> bool:
        declared = http.request(
            "POST",
            "photos",
            json_body={
                "uuid": photo["uuid"],
                "size_bytes": len(data),
                "sha256": photo["sha256"],
                "content_type": photo["content_type"],
            },
        ).data
        offset, complete = int(declared["bytes_received"]), bool(declared["complete"])
        restarts = 0
        while not complete:
            chunk = data[offset : offset + PHOTO_CHUNK]
            try:
                state = http.request(
                    "PATCH",
                    f"photos/{photo['uuid']}",
                    body=chunk,
                    headers={
                        "Upload-Offset": str(offset),
                        "Content-Type": "application/offset+octet-stream",
                    },
                ).data
            except Refused as exc:
                if exc.code == "wrong_offset" and exc.headers.get("upload-offset", "").isdigit():
                    offset = int(exc.headers["upload-offset"])
                    continue
                if exc.code == "checksum_mismatch" and restarts == 0:
                    restarts, offset = 1, 0
                    continue
                self.store.photo_progress(
                    photo["uuid"], bytes_sent=offset, complete=False, error=exc.message
                )
                return False
            offset, complete = int(state["bytes_received"]), bool(state["complete"])
            self.store.photo_progress(photo["uuid"], bytes_sent=offset, complete=complete)
            self.on_progress("photo", offset)
        self.store.photo_progress(photo["uuid"], bytes_sent=len(data), complete=True)
        return True

    # -- pull -----------------------------------------------------------------------------

    def pull(self, report: SyncReport | None = None) -> SyncReport:
        """Pull pages from the stored cursor until ``has_more`` is false, applying each
        page with its cursor in one transaction. A ``bad_cursor`` refusal starts a full
        download that replaces the route list."""
        report = report or SyncReport()
        http = self._http()
        cursor = self.store.get("cursor")
        seen: set[int] | None = set() if cursor is None else None
        while True:
            query = {"limit": str(PULL_LIMIT)}
            if cursor is not None:
                query["cursor"] = cursor
            try:
                page = http.request("GET", "pull", query=query).data
            except Refused as exc:
                if exc.code != "bad_cursor" or cursor is None:
                    raise
                self.store.put(cursor=None)
                cursor, seen = None, set()
                continue
            if not isinstance(page, dict) or "cursor" not in page:
                raise Offline("the server's pull answer was incomplete: will pull again")
            self.store.apply_pull_page(page, seen=seen)
            report.stops_received += len(page.get("stops") or [])
            report.stops_removed += len(page.get("tombstones") or [])
            report.messages += len(page.get("messages") or [])
            stuck = str(page["cursor"]) == cursor
            cursor = str(page["cursor"])
            self.on_progress("pull", report.stops_received)
            if not page.get("has_more"):
                break
            if stuck:
                raise Offline("the server's pull did not move on: will pull again later")
        if seen is not None:
            report.stops_removed += self.store.drop_stops_except(seen)
        return report
