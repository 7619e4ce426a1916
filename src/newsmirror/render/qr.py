"""The share QR code: a PNG file beside the page, never a third-party host.

segno encodes; Pillow draws and writes the PNG (segno's own PNG writer is pure
Python and costs ten times more, which matters at 10,000 pages). The mask is
fixed: every mask is standard and every reader decodes it, and choosing the
"best" one is most of segno's encoding time.
"""

from __future__ import annotations

import io

import segno
from PIL import Image


def qr_png(text: str, scale: int = 4, border: int = 2) -> bytes:
    qr = segno.make(text, error="m", micro=False, mask=0)
    rows = qr.matrix
    size = len(rows) + 2 * border
    white = 255
    pixels = [white] * (size * border)
    for row in rows:
        pixels += [white] * border + [0 if dark else white for dark in row] + [white] * border
    pixels += [white] * (size * border)
    img = Image.new("L", (size, size))
    img.putdata(pixels)
    img = img.convert("1").resize((size * scale, size * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
