from html import escape

import lxml.html

from newsmirror.htmlfrag import inner_html


def _child_by_child(el: lxml.html.HtmlElement) -> str:
    parts = [escape(el.text, quote=False)] if el.text else []
    parts += [lxml.html.tostring(child, encoding="unicode") for child in el]
    return "".join(parts)


BODY = """<div id="body" class="a&gt;b" title='say "x > y"' data-x="1 < 2">lead &amp; text &lt;b&gt;
<p>one <a href="/x?a=1&amp;b=2" title="a>b">link</a> tail</p><!-- a comment -->
<p>two<br>three</p><figure><img src="/i.jpg" alt="&quot;q&quot;"><figcaption>cap</figcaption></figure>
<p>four</p><ul><li>five</li></ul>after &gt; all</div>"""


def test_whole_element_serialised_like_its_children_and_its_attributes_kept():
    el = lxml.html.fragment_fromstring(BODY)
    before = dict(el.attrib)
    assert len(el) >= 4  # the one-call path
    out = inner_html(el)
    assert out == _child_by_child(el)
    assert out.startswith("lead &amp; text &lt;b&gt;") and out.endswith("after &gt; all")
    assert dict(el.attrib) == before


def test_small_elements_and_raw_text_elements():
    doc = lxml.html.document_fromstring("<html><body><p>a <b>b</b> c</p><script>if (a && b) x()</script>"
                                        "<div><p>1</p><p>2</p><p>3</p><p>4</p><p>5</p></div></body></html>")
    for el in doc.iter():
        if isinstance(el.tag, str):
            assert inner_html(el) == _child_by_child(el), el.tag
    empty = lxml.html.fragment_fromstring("<div class='x'></div>")
    assert inner_html(empty) == ""
