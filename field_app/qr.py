"""Reading the enrolment QR code from a picture (the camera's on Android, a file on a
desktop), with zxing-cpp. Staff make the QR code from the ``dev_…:credential`` line that
``gridbill device enroll`` printed, with any QR tool."""

from __future__ import annotations

from pathlib import Path


class QrError(ValueError):
    """No readable QR code in the picture; the message says what to do."""


def read_qr(path: Path) -> str:
    """The text of the first QR code in the picture at ``path``."""
    try:
        import zxingcpp
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise QrError("QR codes need zxing-cpp (the `field` extra): type the credential") from None
    try:
        with Image.open(path) as image:
            codes = zxingcpp.read_barcodes(image.convert("L"))
    except (OSError, UnidentifiedImageError):
        raise QrError(f"{path.name} is not a picture: take the photo again") from None
    for code in codes:
        if code.format == zxingcpp.BarcodeFormat.QRCode and code.text:
            return str(code.text)
    raise QrError("no QR code in the picture: fill the frame with the code and try again")
