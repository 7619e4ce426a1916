"""The share QR code: a PNG file beside the page, never a third-party host.

zxing-cpp (the C++ barcode library) encodes, choosing the mask the standard
asks for; Pillow writes a 1-bit PNG. The tests decode every code they check
with zxing-cpp's reader, so what a phone scans is what is asserted.
"""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image


def qr_png(text: str, scale: int = 4) -> bytes:
    """A QR code of `text` (error correction M, the standard 4-module quiet zone) as PNG bytes."""
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = code.to_image(scale=1, add_quiet_zones=True)
    height, width = image.shape
    img = Image.frombuffer("L", (width, height), bytes(memoryview(image)), "raw", "L", 0, 1).convert("1")
    if scale > 1:
        img = img.resize((width * scale, height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()

