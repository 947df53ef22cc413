"""The enrolment QR code is read from a picture."""

from __future__ import annotations

from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from field_app.qr import QrError, read_qr

TEXT = "dev_3f9c0a1b2c3d4e5f:6Zk1aB-_cdEFghIJklMNopQRstUVwxYZ0123456789a"


def test_reads_the_code(tmp_path: Path) -> None:
    pixels = memoryview(
        zxingcpp.create_barcode(TEXT, zxingcpp.BarcodeFormat.QRCode).to_image(scale=5)
    )
    code = Image.frombytes("L", (pixels.shape[1], pixels.shape[0]), bytes(pixels))
    photo = Image.new("RGB", (600, 500), (90, 110, 70))  # the code on a desk
    photo.paste(code.convert("RGB"), (150, 120))
    photo.save(tmp_path / "photo.jpg", quality=85)
    assert read_qr(tmp_path / "photo.jpg") == TEXT


def test_no_code_and_not_a_picture(tmp_path: Path) -> None:
    Image.new("RGB", (100, 100), (255, 255, 255)).save(tmp_path / "blank.png")
    with pytest.raises(QrError, match="no QR code"):
        read_qr(tmp_path / "blank.png")
    (tmp_path / "notes.jpg").write_text("not a picture")
    with pytest.raises(QrError, match="not a picture"):
        read_qr(tmp_path / "notes.jpg")
