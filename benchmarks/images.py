"""Image benchmark: what checking, scaling and storing one picture costs (`process_image`).

    python benchmarks/images.py [--repeat 20] [--no-write]

Pictures of several kinds are made with the photo generator of benchmarks/mirror.py (photo-like:
colour fields, blurred shapes, grain; a few of each kind), and each is run through
`newsmirror.transform.images.process_image` with the default settings (max_width 960, quality
80) — what the mirror does now — and with `reencode=True`, the baseline: every picture decoded,
oriented, scaled if too wide and re-encoded, as the mirror did before it kept the JPEGs that fit.
CPU ms per picture (best of `--repeat` rounds, so that a busy moment on the shared machine does
not count), the bytes written, and the ratio to the baseline measured in the same run.

Prints a table and writes benchmarks/results/images.md. Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import io
import platform
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mirror import calibrate, photo, source_fingerprint  # noqa: E402

from newsmirror.transform.images import process_image  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
PICTURES = 4  # of each kind

KINDS = [  # label, width, JPEG quality, other save options
    ("800 px, quality 85 (the reference site's size)", 800, 85, {}),
    ("800 px, quality 85, progressive", 800, 85, {"progressive": True}),
    ("800 px, quality 100 (over-heavy)", 800, 100, {}),
    ("1200 px, quality 85", 1200, 85, {}),
    ("1600 px, quality 85", 1600, 85, {}),
    ("2400 px, quality 85", 2400, 85, {}),
]


def cpu_ms(pictures: list[bytes], repeat: int, **options: object) -> float:
    """Best CPU ms per picture over `repeat` rounds."""
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        for p in pictures:
            process_image(p, **options)
        best = min(best, (time.process_time() - t) / len(pictures) * 1000)
    return best


def what_is_done(picture: bytes, **options: object) -> tuple[str, float]:
    """What process_image made of a picture (kept pixel for pixel, re-encoded, scaled), and the KB it wrote."""
    from PIL import Image

    out = process_image(picture, **options)
    source = Image.open(io.BytesIO(picture))
    if out.width < source.width:
        return f"scaled to {out.width} px, re-encoded", len(out.data) / 1000
    kept = Image.open(io.BytesIO(out.data)).tobytes() == source.tobytes()
    return ("kept, metadata cut" if kept else "re-encoded"), len(out.data) / 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    started = datetime.now()
    calib = calibrate()
    rows = []
    for label, width, quality, save in KINDS:
        pictures = [photo(k, width, quality, **save) for k in range(PICTURES)]
        now_ms, base_ms = cpu_ms(pictures, args.repeat), cpu_ms(pictures, args.repeat, reencode=True)
        what, now_kb = what_is_done(pictures[0])
        _, base_kb = what_is_done(pictures[0], reencode=True)
        rows.append((label, len(pictures[0]) / 1000, what, now_ms, base_ms, now_kb, base_kb))
        print(f"{label}: {what}, {now_ms:.2f} ms now, {base_ms:.2f} ms re-encoding everything", flush=True)

    lines = [
        "# Image benchmark (one picture, check to bytes written)", "",
        f"`python benchmarks/images.py --repeat {args.repeat}`, started {started:%Y-%m-%d %H:%M}, "
        f"Python {platform.python_version()}, calibration {calib:.0f} ms (a fixed pure-Python loop; higher = a slower "
        f"or busier machine). Code measured: {source_fingerprint()}.", "",
        f"{PICTURES} photo-like pictures of each kind (benchmarks/mirror.py's generator), default settings "
        "(images.max_width 960, quality 80). *now*: what the mirror does; *baseline*: `images.reencode = true`, "
        "every picture decoded, oriented, scaled when too wide and re-encoded (the mirror's way before it kept "
        "JPEGs that fit). CPU ms per picture, best of the rounds.", "",
        "(KB: of the first picture of each kind.)", "",
        "| picture | KB as served | what the mirror does now | CPU ms now | CPU ms baseline | × baseline "
        "| KB written now | KB written baseline |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, kb, what, now_ms, base_ms, now_kb, base_kb in rows:
        lines.append(f"| {label} | {kb:.0f} | {what} | {now_ms:.2f} | {base_ms:.2f} | {now_ms / base_ms:.2f} "
                     f"| {now_kb:.0f} | {base_kb:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "images.md").write_text(text, encoding="utf-8")
        print(f"wrote {RESULTS / 'images.md'}")


if __name__ == "__main__":
    main()
