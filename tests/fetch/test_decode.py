"""decode(): bytes → text the way browsers pick the encoding of Chinese pages."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from newsmirror.fetch import decode
from newsmirror.fetch.decode import header_charset, normalise_label, sniff_charset

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GBK_TEXT = (FIXTURES / "gbk" / "expected.txt").read_text(encoding="utf-8").strip()
BIG5_TEXT = (FIXTURES / "big5" / "expected.txt").read_text(encoding="utf-8").strip()


def test_header_charset_wins_over_meta():
    body = '<html><head><meta charset="utf-8"></head><body>中文新闻</body></html>'.encode("gb18030")
    text, enc = decode(body, "text/html; charset=GBK")
    assert enc == "gb18030"
    assert "中文新闻" in text


def test_header_charset_quoted_and_with_other_params():
    body = "台灣新聞".encode("big5")
    text, enc = decode(body, 'text/html; foo=bar; charset="big5"')
    assert (text, enc) == ("台灣新聞", "big5hkscs")


def test_unknown_header_charset_falls_back_to_meta():
    body = '<meta charset="gb2312"><p>地方新闻</p>'.encode("gb18030")
    text, enc = decode(body, "text/html; charset=no-such-charset")
    assert enc == "gb18030"
    assert "地方新闻" in text


@pytest.mark.parametrize("label", ["base64", "zlib", "hex", "rot13", "idna", "punycode", "uu"])
def test_non_text_codec_label_is_ignored_not_raised(label):
    body = '<meta charset="gbk"><p>地方新闻</p>'.encode("gb18030") + b"\xff\\x"
    text, enc = decode(body, f"text/html; charset={label}")
    assert enc == "gb18030"
    assert "地方新闻" in text
    assert normalise_label(label) is None


def test_utf8_bom_wins_over_meta():
    body = codecs.BOM_UTF8 + '<meta charset="big5"><p>新闻</p>'.encode()
    text, enc = decode(body)
    assert enc == "utf-8"
    assert text == '<meta charset="big5"><p>新闻</p>'


@pytest.mark.parametrize("bom,codec", [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_utf16_bom(bom, codec):
    text, enc = decode(bom + "<p>新闻 news</p>".encode(codec))
    assert enc == codec
    assert text == "<p>新闻 news</p>"


def test_meta_charset():
    body = '<!doctype html><html><head><meta charset="big5"><title>港聞</title></head></html>'.encode("big5")
    text, enc = decode(body)
    assert enc == "big5hkscs"
    assert "<title>港聞</title>" in text


def test_meta_after_4k_is_not_seen():
    body = b"<!-- " + b"x" * 5000 + b' --><meta charset="koi8-r">'
    assert sniff_charset(body) is None
    assert decode(body)[1] == "utf-8"


def test_xml_declaration():
    body = '<?xml version="1.0" encoding="GB2312"?><rss><title>国际</title></rss>'.encode("gb18030")
    text, enc = decode(body)
    assert enc == "gb18030"
    assert "<title>国际</title>" in text


def test_gbk_fixture_http_equiv_gb2312_decodes_as_gb18030():
    raw = (FIXTURES / "gbk" / "article.html").read_bytes()
    assert b"charset=gb2312" in raw
    text, enc = decode(raw, "text/html")
    assert enc == "gb18030"
    assert GBK_TEXT in text
    assert "\ufffd" not in text


def test_big5_fixture_decodes_as_big5hkscs():
    raw = (FIXTURES / "big5" / "article.html").read_bytes()
    text, enc = decode(raw)
    assert enc == "big5hkscs"
    assert BIG5_TEXT in text
    assert "𨋢" in text  # an HKSCS character plain big5 cannot decode
    assert "\ufffd" not in text


def test_undecodable_bytes_do_not_raise():
    body = "新闻".encode() + b"\xff\xfe\x80" + "结束".encode()
    text, enc = decode(body, "text/html; charset=utf-8")
    assert enc == "utf-8"
    assert text.startswith("新闻") and text.endswith("结束")
    assert "\ufffd" in text


def test_nul_bytes_removed():
    text, _ = decode(b"<p>a\x00b</p>\x00", "text/html; charset=utf-8")
    assert text == "<p>ab</p>"
    text, _ = decode('<meta charset="gbk"><p>新\x00闻</p>'.encode("gb18030"))
    assert "\x00" not in text and "新闻" in text
    text, _ = decode(b"plain\x00 ascii")
    assert text == "plain ascii"


def test_detection_without_any_declaration():
    body = f"<html><body><p>{GBK_TEXT}</p><p>{GBK_TEXT}</p></body></html>".encode("gbk")
    assert header_charset(None) is None and sniff_charset(body) is None
    text, enc = decode(body)
    assert enc == "gb18030"
    assert GBK_TEXT in text
    assert "\ufffd" not in text


def test_undeclared_utf8_is_utf8():
    text, enc = decode("纯 UTF-8 文本".encode())
    assert (text, enc) == ("纯 UTF-8 文本", "utf-8")


@pytest.mark.parametrize("label,want", [
    ("gb2312", "gb18030"), ("GBK", "gb18030"), ("x-gbk", "gb18030"), ("big5", "big5hkscs"),
    ("iso-8859-1", "cp1252"), ("UTF-8", "utf-8"), ('"utf-8"', "utf-8"), ("nonsense", None), ("", None),
])
def test_normalise_label(label, want):
    assert normalise_label(label) == want


def test_a_wrong_utf8_label_on_gbk_bytes_falls_back_to_detection():
    text = "长江中下游地区遭遇特大暴雨，多地启动防汛应急响应，气象部门提醒市民注意出行安全。" * 5
    decoded, enc = decode(text.encode("gbk"), "text/html; charset=utf-8")
    assert decoded == text and enc == "gb18030"
    # a few stray bad bytes in real UTF-8 do not flip the page to another encoding
    mostly = ("这是一段正常的中文。" * 50).encode() + b"\xff"
    decoded, enc = decode(mostly, "text/html; charset=utf-8")
    assert enc == "utf-8" and decoded.startswith("这是一段正常的中文")


@pytest.mark.parametrize("label", ["utf-16", "UTF-16LE", "utf-16be"])
def test_a_utf16_label_in_an_ascii_readable_page_means_utf8(label):
    page = f'<html><head><meta charset="{label}"></head><body><p>Hello 中文</p></body></html>'.encode()
    text, used = decode(page)
    assert used == "utf-8" and "Hello 中文" in text
