"""Images: checked, oriented, scaled and re-encoded with Pillow; content-addressed; rewritten in bodies."""

from __future__ import annotations

import io
import re
import struct
import zlib

import html5lib
import pytest
from PIL import Image, ImageFilter

from newsmirror.transform.images import ImageError, asset_path, image_urls, process_image, rewrite_images


def jpeg(w: int, h: int, **save: object) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(buf, format="JPEG", **save)
    return buf.getvalue()


def png_header_claiming(w: int, h: int) -> bytes:
    """A tiny PNG whose header claims w×h pixels: a decompression bomb's shape, without its bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


def test_a_large_image_is_scaled_down_and_reencoded_as_jpeg():
    out = process_image(jpeg(3000, 1500), max_width=960)
    assert (out.width, out.height, out.ext) == (960, 480, "jpg")
    img = Image.open(io.BytesIO(out.data))
    assert img.format == "JPEG" and img.size == (960, 480)


def test_a_small_image_keeps_its_size():
    out = process_image(jpeg(300, 200), max_width=960)
    assert (out.width, out.height) == (300, 200)


def test_transparency_is_kept_as_png():
    buf = io.BytesIO()
    Image.new("RGBA", (40, 30), (0, 0, 0, 0)).save(buf, format="PNG")
    out = process_image(buf.getvalue())
    assert out.ext == "png" and Image.open(io.BytesIO(out.data)).mode == "RGBA"


def test_exif_orientation_is_applied_and_metadata_dropped():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to show
    exif[0x010F] = "SecretCam"  # camera make: metadata that must not be published
    out = process_image(jpeg(200, 100, exif=exif.tobytes()))
    assert (out.width, out.height) == (100, 200)
    assert b"SecretCam" not in out.data


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    with pytest.raises(ImageError, match="over images.max_pixels"):
        process_image(png_header_claiming(100_000, 100_000), max_pixels=40_000_000)


@pytest.mark.parametrize("data", [b"", b"<html><body>Not an image</body></html>", jpeg(50, 50)[:200]])
def test_broken_or_non_images_raise_a_one_line_error(data):
    with pytest.raises(ImageError) as exc:
        process_image(data)
    assert "\n" not in str(exc.value)


def test_asset_paths_are_content_addressed():
    a = process_image(jpeg(100, 100))
    b = process_image(jpeg(100, 100))
    c = process_image(jpeg(101, 100))
    assert asset_path(a) == asset_path(b) != asset_path(c)
    assert re.fullmatch(r"assets/([0-9a-f]{2})/\1[0-9a-f]{30}\.jpg", asset_path(a))


def test_image_urls_lead_first_each_once():
    body = ('<p><img src="https://i.example/b.jpg"><img src="https://i.example/a.jpg">'
            '<img src="data:image/png;base64,AAAA"><img src="https://i.example/b.jpg"></p>')
    assert image_urls("https://i.example/a.jpg", body) == ["https://i.example/a.jpg", "https://i.example/b.jpg"]
    assert image_urls(None, "<p>无图</p>") == []


def test_rewrite_points_at_our_copy_and_shows_alt_text_for_a_missing_one():
    body = ('<p>前<img src="https://i.example/ok.jpg" alt="好">中<img src="https://i.example/bad.jpg" alt="坏图">'
            '后<img src="https://i.example/noalt.jpg"></p>')
    ours = {"https://i.example/ok.jpg": "../../assets/ab/ab12.jpg"}
    out = rewrite_images(body, ours.get)
    assert '<img src="../../assets/ab/ab12.jpg" alt="好">' in out
    assert '<a href="https://i.example/bad.jpg">[图片：坏图]</a>后' in out
    assert "[图片]" in out and "前" in out and "中" in out
    quiet = rewrite_images(body, ours.get, link_missing=False)
    assert "<em>[图片：坏图]</em>" in quiet and "bad.jpg" not in quiet


def test_a_missing_image_inside_a_link_is_no_second_link():
    body = '<p><a href="https://news.example/big"><img src="https://i.example/gone.jpg" alt="大图"></a>后</p>'
    out = rewrite_images(body, {}.get)
    doc = html5lib.parse(f"<!DOCTYPE html><title>t</title>{out}", namespaceHTMLElements=False)
    links = doc.findall(".//a")
    assert len(links) == 1 and links[0].get("href") == "https://news.example/big"
    assert "".join(links[0].itertext()) == "[图片：大图]"
    assert "gone.jpg" not in out


# -- a JPEG that already fits is kept as the site made it, its metadata cut out losslessly


def photo_jpeg(w: int = 320, h: int = 200, **save: object) -> bytes:
    """A JPEG with detail in it (a gradient and noise), so that re-encoding would change its pixels."""
    noise = Image.effect_noise((w, h), 30).convert("L").filter(ImageFilter.BoxBlur(1))
    img = Image.merge("RGB", [noise, Image.linear_gradient("L").resize((w, h)), noise.transpose(Image.FLIP_LEFT_RIGHT)])
    buf = io.BytesIO()
    img.save(buf, format="JPEG", **save)
    return buf.getvalue()


def pixels(data: bytes) -> bytes:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img.tobytes()


def segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def with_metadata(data: bytes) -> bytes:
    """The JPEG's own bytes with EXIF (a camera make, a GPS position), an ICC profile, XMP and a comment put
    in after its JFIF header, with a JFIF extension (a thumbnail's place), and a second picture after its end
    (as multi-picture files carry)."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    exif.get_ifd(0x8825)[2] = (39.0, 54.0, 23.0)  # GPS latitude
    jfif_end = 4 + struct.unpack(">H", data[4:6])[0]
    added = (segment(0xE1, exif.tobytes()) + segment(0xE2, b"ICC_PROFILE\0\1\1" + b"\0" * 128 + b"fake-profile")
             + segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>SecretPlace</x:xmpmeta>")
             + segment(0xFE, b"shot by SecretPerson") + segment(0xE0, b"JFXX\0\x10SecretThumb"))
    return data[:jfif_end] + added + data[jfif_end:] + jpeg(8, 8)


def test_a_jpeg_that_fits_is_kept_pixel_for_pixel_without_its_metadata():
    original = photo_jpeg(quality=85)
    data = with_metadata(original)
    out = process_image(data, max_width=960, quality=60)
    assert (out.width, out.height, out.ext) == (320, 200, "jpg")
    assert pixels(out.data) == pixels(original)  # not re-encoded: the same picture, no generation lost
    for secret in (b"SecretCam", b"Exif\0", b"SecretPlace", b"SecretPerson", b"SecretThumb"):
        assert secret not in out.data
    assert out.data.endswith(b"\xff\xd9") and out.data.count(b"\xff\xd8") == 1  # the second picture is gone
    assert Image.open(io.BytesIO(out.data)).info.get("icc_profile", b"").endswith(b"fake-profile")  # colours kept
    assert len(out.data) < len(data)


def test_a_progressive_jpeg_that_fits_is_kept():
    original = photo_jpeg(quality=80, progressive=True)
    out = process_image(original)
    assert pixels(out.data) == pixels(original)
    assert Image.open(io.BytesIO(out.data)).info.get("progressive")  # shows a coarse preview first on a slow line


@pytest.mark.parametrize("why, data, options", [
    ("too wide", photo_jpeg(1200, 300, quality=80), {"max_width": 960}),
    ("over-heavy (quality 100)", photo_jpeg(quality=100), {}),
    ("asked to", photo_jpeg(quality=80), {"reencode": True}),
])
def test_other_jpegs_are_reencoded(why, data, options):
    out = process_image(data, quality=60, **options)
    assert out.ext == "jpg" and out.data != data, why
    assert pixels(out.data) != pixels(data) or out.width != Image.open(io.BytesIO(data)).width


def test_a_cmyk_jpeg_is_reencoded_as_rgb():
    buf = io.BytesIO()
    Image.new("CMYK", (64, 48), (0, 200, 200, 0)).save(buf, format="JPEG")
    out = process_image(buf.getvalue())
    assert Image.open(io.BytesIO(out.data)).mode == "RGB"


@pytest.mark.parametrize("cut", [100, 2000])
def test_a_truncated_jpeg_that_would_be_kept_is_refused(cut):
    data = photo_jpeg(quality=85)
    with pytest.raises(ImageError, match="broken image"):
        process_image(data[:-cut])


def test_a_jpeg_without_picture_data_is_refused():
    """Headers and tables but no scan: Pillow reads the frame header, a browser shows nothing."""
    data = photo_jpeg(quality=85)
    sos, eoi = data.index(b"\xff\xda"), data.rindex(b"\xff\xd9")
    with pytest.raises(ImageError, match="no scan"):
        process_image(data[:sos] + data[eoi:])


def test_a_thumbnail_in_the_jfif_header_is_dropped():
    original = photo_jpeg(quality=85)
    assert original[6:11] == b"JFIF\0"
    length = struct.unpack(">H", original[4:6])[0]
    thumb = b"THUMBPIXELS!"  # a 2×2 RGB preview (12 bytes), as a camera or editor may leave there
    app0 = b"\xff\xe0" + struct.pack(">H", 16 + len(thumb)) + original[6:18] + b"\x02\x02" + thumb
    data = original[:2] + app0 + original[4 + length:]
    out = process_image(data)
    assert pixels(out.data) == pixels(original)
    assert out.data[2:6] == b"\xff\xe0\x00\x10" and out.data[18:20] == b"\x00\x00"
    assert thumb not in out.data


@pytest.mark.parametrize("frame", [0xC3, 0xC9, 0xCA])
def test_lossless_and_arithmetic_coded_jpegs_are_not_published_as_they_are(frame):
    """Browsers show baseline and progressive Huffman-coded JPEGs; any other kind is decoded and re-encoded,
    or refused when it cannot be decoded."""
    original = photo_jpeg(quality=85)
    sof = original.index(b"\xff\xc0")
    data = original[:sof + 1] + bytes((frame,)) + original[sof + 2:]
    try:
        out = process_image(data)
    except ImageError:
        return
    assert out.data != data and b"\xff" + bytes((frame,)) not in out.data[:out.data.index(b"\xff\xda")]


def test_an_extended_sequential_jpeg_is_kept():
    original = photo_jpeg(quality=85)
    sof = original.index(b"\xff\xc0")
    data = original[:sof + 1] + b"\xc1" + original[sof + 2:]
    out = process_image(data)
    assert out.data[sof:sof + 2] == b"\xff\xc1" and pixels(out.data) == pixels(original)
