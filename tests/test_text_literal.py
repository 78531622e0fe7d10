"""spc.text: what people typed and what files said reads as the same characters wherever it is
shown, whatever Markdown, HTML or formula syntax it holds; and over-long text is refused.

Markdown is rendered with markdown-it (CommonMark with raw HTML, as Streamlit renders with
`unsafe_allow_html`); the browser test (test_browser_injection.py) checks Streamlit's own
renderer, KaTeX included.
"""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from spc.errors import SpcError
from spc.store.catalogue import read_catalogue
from spc.text import (MAX_INDICATOR_NAME, TooLong, check_length, html_text, literal, markdown_file)

INJECTION = "<script>alert(1)</script> **Bob** [x](javascript:alert(1)) $x^2$ <img src=x onerror=alert(1)>"
NASTY = [
    INJECTION,
    "# heading", "- item", "+ item", "1. first", "12) twelve", "    indented code", "> quote", "---", "===",
    "`code` and ``more``", "*em* _em_ __strong__ ~~struck~~", "a | b | c", "[ref]: http://x", "![img](x.png)",
    "&amp; stays &amp;, &lt;b&gt; stays too", "back\\slash \\*", "<b>bold</b> <a href='javascript:x'>link</a>",
    "line one\n\nline two\n- not a list", "tab\there", ":smile: and :+1:", "www.example.com, https://x.org, a@b.co",
    "Burton-on-Trent (East Staffs.)", "O'Brien & \"Sons\"", "£1,000 costs 50% more: {braces}",
]
MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
TAG = re.compile(r"<[^>]+>")


def shown(markup: str) -> str:
    """What a reader sees of rendered HTML: the text, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(TAG.sub("", markup)).split())


def same_text(a: str) -> str:
    return " ".join(a.replace("\u2060", "").split())


@pytest.mark.parametrize("text", NASTY)
def test_literal_reads_the_same_in_markdown_with_html(text):
    rendered = MD.render(literal(text))
    assert rendered.startswith("<p>") and rendered.count("<p>") == 1, rendered  # one paragraph, no block
    inner = rendered.removeprefix("<p>").removesuffix("</p>\n")
    assert not TAG.search(inner), rendered  # no element made from the text
    assert same_text(shown(rendered)) == same_text(text)


@pytest.mark.parametrize("text", NASTY)
def test_literal_reads_the_same_inside_an_html_block(text):
    rendered = MD.render(f'<div class="x">{literal(text)}</div>\n\n**after**')
    assert rendered.count("<div") == 1 and "<strong>after</strong>" in rendered  # the block ended where it should
    inside = rendered.split("</div>")[0].split(">", 1)[1]
    assert not TAG.search(inside)
    assert same_text(html.unescape(inside)) == same_text(text)


def test_literal_writes_no_markdown_math_or_html_syntax():
    out = literal(INJECTION)
    for syntax in ("<", ">", "**", "[x]", "$"):
        assert syntax not in out
    assert literal(None) == ""


@pytest.mark.parametrize("text", NASTY)
def test_markdown_file_reads_the_same_rendered(text):
    # inside a list item, as the digest writes it
    rendered = MD.render(f"- **name**, {markdown_file(text)}: more\n")
    assert rendered.count("<li>") == 1 and rendered.count("<strong>") == 1, rendered
    assert "<a " not in rendered and "<script" not in rendered and "<img" not in rendered and "<em>" not in rendered
    assert same_text(shown(rendered)) == same_text(f"name, {text}: more")


def test_markdown_file_leaves_plain_sentences_and_file_names_alone():
    plain = "From Jan 2024 to Mar 2024, 3 points were higher than usual (about 1,426 before October 2022)."
    assert markdown_file(plain) == plain
    assert markdown_file("calls_999_2024-03.csv") == "calls_999_2024-03.csv"


@pytest.mark.parametrize("text", NASTY)
def test_markdown_file_reads_the_same_as_a_list_item_of_its_own(text):
    rendered = MD.render(f"- {markdown_file(text)}\n")
    assert rendered.startswith("<ul>\n<li>") and rendered.count("<li>") == 1, rendered
    assert "<pre>" not in rendered and "<a " not in rendered and "<h" not in rendered and "<em>" not in rendered
    assert same_text(shown(rendered)) == same_text(text)


def test_html_text_escapes_for_elements_and_attributes():
    assert html_text(INJECTION) == html.escape(INJECTION, quote=True)
    assert html_text('"x"') == "&quot;x&quot;" and html_text(None) == ""


def test_check_length_names_the_field_and_the_limit():
    check_length("note", "x" * 10, 10)
    with pytest.raises(TooLong, match=r"note is 11 characters long; the limit is 10"):
        check_length("note", "x" * 11, 10)


def test_catalogue_refuses_an_over_long_name_naming_file_and_field(tmp_path):
    path = tmp_path / "indicators.toml"
    path.write_text(f"""
[[area]]
code = "force"
name = "The force"
type = "force"

[[indicator]]
id = "calls"
name = "{'N' * (MAX_INDICATOR_NAME + 1)}"
unit = "count"
kind = "count"
improvement = "decrease"
chart = "c"
frequency = "month"
priority = "P"
source = "S"
""", encoding="utf-8")
    with pytest.raises(SpcError) as err:
        read_catalogue(path)
    message = str(err.value)
    assert str(path) in message and "(calls)" in message and "field 'name'" in message
    assert f"the limit is {MAX_INDICATOR_NAME}" in message


def test_catalogue_refuses_an_over_long_area_name(tmp_path):
    path = tmp_path / "indicators.toml"
    path.write_text(f"""
[[area]]
code = "force"
name = "{'A' * 500}"
type = "force"
""", encoding="utf-8")
    with pytest.raises(SpcError, match=r"area #1 \(force\): field 'name' is 500 characters long"):
        read_catalogue(path)
