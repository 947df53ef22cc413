"""Sign in: staff type in (or scan into the box) the credential ``gridbill device
enroll`` printed, and the server URL. There is no self-enrolment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from field_app.i18n import markup
from field_app.local_store import LocalStore
from field_app.qr import QrError, read_qr
from field_app.screens import FieldScreen, choose_picture, load_kv
from field_app.sync_client import SyncClient
from field_app.sync_http import Refused

load_kv(__file__)


class EnrolScreen(FieldScreen):
    def show(self, **params: Any) -> None:
        url = self.app.store.get("server_url")
        if url and not self.ids.server_url.text:
            self.ids.server_url.text = url

    def scan(self) -> None:
        """Read the credential from a picture of its QR code into the box."""
        self.scan_popup = choose_picture(self.app, "scan_qr", self.read_picture)

    def read_picture(self, picture: Path) -> None:
        try:
            self.ids.credential.text = read_qr(picture)
        except QrError as exc:
            self.ids.status.text = markup(str(exc))
            return
        self.ids.status.text = ""

    def enrol(self) -> None:
        url, text = self.ids.server_url.text, self.ids.credential.text
        self.ids.status.text = self.app.t("enrolling")
        self.ids.enrol_button.disabled = True

        def work(store: LocalStore) -> None:
            SyncClient(store).enrol(url, text)

        def done(_result: None, error: Exception | None) -> None:
            self.ids.enrol_button.disabled = False
            if error is None:
                self.ids.credential.text = ""
                self.ids.status.text = ""
                self.app.go("route")
                self.app.sync_now()
            elif isinstance(error, Refused):
                self.ids.status.text = markup(f"{error.code}: {error.message}")
            else:  # EnrolmentError, Offline, or a bug: said, never a crash
                self.ids.status.text = markup(str(error) or type(error).__name__)

        self.app.in_background(work, done)
