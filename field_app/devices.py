"""The handset's location and camera, behind small interfaces with desktop stand-ins.

On Android the app asks the platform (pyjnius): the last known GPS fix, and the system
camera app for a photo. On a desktop there is no GPS (a fixed position can be given
with ``GRIDBILL_FIELD_FAKE_GPS=lat,lon``, which the screen tests use) and photos are
chosen from files. The screens only see :class:`Locator` and the photo path they get.

The Android parts are written against the platform API but run only on a phone; the
tests use the fakes (docs/field-app.md says what was verified where).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}
MAX_PHOTO_BYTES = 10 * 1024 * 1024
"""The server's default ``GRIDBILL_SYNC_MAX_PHOTO_BYTES``."""


class Locator(Protocol):
    def location(self) -> tuple[float, float] | None:
        """(latitude, longitude) in WGS84 degrees, or ``None`` when there is no fix."""
        ...


class NoLocator:
    def location(self) -> tuple[float, float] | None:
        return None


class FixedLocator:
    def __init__(self, latitude: float, longitude: float) -> None:
        self.position = (latitude, longitude)

    def location(self) -> tuple[float, float] | None:
        return self.position


class AndroidLocator:
    """The freshest last-known fix of GPS or network positioning (``LocationManager``);
    the app holds ACCESS_FINE_LOCATION (buildozer.spec)."""

    def __init__(self, autoclass: Any) -> None:
        activity = autoclass("org.kivy.android.PythonActivity").mActivity
        context = autoclass("android.content.Context")
        self._manager = activity.getSystemService(context.LOCATION_SERVICE)

    def location(self) -> tuple[float, float] | None:
        best = None
        for provider in ("gps", "network"):
            try:
                fix = self._manager.getLastKnownLocation(provider)
            except Exception:  # noqa: S112  # a JavaException: permission refused, provider off
                continue
            if fix is not None and (best is None or fix.getTime() > best.getTime()):
                best = fix
        return None if best is None else (float(best.getLatitude()), float(best.getLongitude()))


def locator_for(environ: Mapping[str, str] = os.environ) -> Locator:
    """The platform's locator, or the fixed one ``GRIDBILL_FIELD_FAKE_GPS`` names."""
    fake = environ.get("GRIDBILL_FIELD_FAKE_GPS", "")
    if fake:
        lat, _, lon = fake.partition(",")
        return FixedLocator(float(lat), float(lon))
    try:
        from jnius import autoclass  # Android only
    except ImportError:
        return NoLocator()
    return AndroidLocator(autoclass)


class PhotoError(ValueError):
    """The chosen file cannot be a meter photo; the message says why."""


def keep_photo(source: Path, photo_dir: Path) -> tuple[str, str, int, str, str]:
    """Copy the chosen or taken photo into the app's folder (the original may go away)
    and return what the store keeps: ``(uuid, path, size_bytes, sha256, content_type)``."""
    content_type = CONTENT_TYPES.get(source.suffix.lower())
    if content_type is None:
        raise PhotoError("a photo is a .jpg, .png or .webp file")
    size = source.stat().st_size
    if not 0 < size <= MAX_PHOTO_BYTES:
        raise PhotoError("a photo must be at most 10 MiB")
    photo_uuid = str(uuid.uuid4())
    photo_dir.mkdir(parents=True, exist_ok=True)
    target = photo_dir / f"{photo_uuid}{source.suffix.lower()}"
    shutil.copyfile(source, target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    return photo_uuid, str(target), size, digest, content_type


def android_camera_intent(autoclass: Any, target: Path) -> Any:
    """An ``ACTION_IMAGE_CAPTURE`` intent that writes the photo to ``target`` (the
    capture screen starts it and keeps the file with :func:`keep_photo`)."""
    intent = autoclass("android.content.Intent")(
        autoclass("android.provider.MediaStore").ACTION_IMAGE_CAPTURE
    )
    uri = autoclass("android.net.Uri").fromFile(autoclass("java.io.File")(str(target)))
    intent.putExtra(autoclass("android.provider.MediaStore").EXTRA_OUTPUT, uri)
    return intent
