"""The share QR code: a PNG file beside the page, never a third-party host."""

from __future__ import annotations

import io

import segno


def qr_png(text: str, scale: int = 4) -> bytes:
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()
