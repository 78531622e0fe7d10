"""Text is text: showing what people typed and what files said literally, and how long it may be.

Everything a person typed (annotations, reasons, names) and everything read from a file
(indicator names and descriptions, area names, sources, rejected values and reasons, file
names) is data. Wherever data meets something that interprets text, it goes through one of
these functions, chosen by what does the interpreting:

* `literal(text)`: Streamlit (st.markdown with or without HTML, captions, notices, titles,
  widget labels) and plotly text (titles, hover text, subplot titles). Markdown, GitHub
  Markdown, `$...$` formulas and HTML all come out as the characters typed.
* `html_text(text)`: a pure HTML document (the briefing pack, the downloaded briefing).
* `markdown_file(text)`: a Markdown file meant to be read as text or rendered (the refresh
  digest).

Plain-text places (st.dataframe cells, st.selectbox and st.multiselect options, st.code,
st.json, CSV files) show text as it is and need nothing.

The length limits are here too, in one place: the catalogue loader refuses longer names, and
the app's write path refuses longer notes, reasons and names (`check_length`).
"""

from __future__ import annotations

import html
import re

# ---------------------------------------------------------------------------------------------
# length limits (characters)
# ---------------------------------------------------------------------------------------------

#: An indicator's name in the catalogue (the longest shipped is 60).
MAX_INDICATOR_NAME = 120
#: An indicator's description in the catalogue (the longest shipped is 226).
MAX_INDICATOR_DESCRIPTION = 1000
#: An area's name in the catalogue (the longest shipped is 26).
MAX_AREA_NAME = 120
#: Any other text field of a catalogue entry: priority, source, owner, target source.
MAX_CATALOGUE_FIELD = 300
#: The text of an annotation (an intervention, a note) an analyst writes.
MAX_ANNOTATION_TEXT = 1000
#: The reason given for a change, a recalculation or a withdrawal.
MAX_REASON = 500
#: A person's name or account name as recorded against a change.
MAX_USER_NAME = 80


class TooLong(ValueError):
    """A text longer than its limit; the message names the field, its length and the limit."""


def check_length(field: str, text: str | None, limit: int) -> None:
    """Refuse `text` longer than `limit` characters, naming `field` (e.g. 'note', 'name')."""
    if text is not None and len(text) > limit:
        raise TooLong(f"{field} is {len(text):,} characters long; the limit is {limit:,}")


# ---------------------------------------------------------------------------------------------
# escaping
# ---------------------------------------------------------------------------------------------

# Characters that make Markdown, GitHub Markdown, Streamlit's directives or remark-math ($)
# anywhere in a line, written as numeric character references: these decode to the same
# characters in Markdown text, in HTML (text and attributes) and in plotly's text, but no
# syntax is made of them. Newlines become references too, so data never ends an HTML block or
# starts a Markdown block (a list, a heading, a code block) of its own; what starts a block
# only at the start of a line is escaped there.
_LITERAL = str.maketrans({
    **{c: f"&#{ord(c)};" for c in "\\`*_[]|~$"},
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;",
    "\n": "&#10;", "\r": "&#13;", "\t": "&#9;",
})
_BLOCK_START = re.compile(r"^( *)([-+=#]|\d+[.)])?")
# Emoji shortcodes (:smile:) and bare links (www.x, http://x, a@b.c) are found in the decoded
# text after parsing, so references cannot stop them: an invisible word joiner breaks the pattern.
_WORD_JOINER = "\u2060"
_TEXT_PATTERNS = re.compile(r"(?i)(:)(?=[\w+-]+:)|(:)(?=//)|\b(www)(?=\.)|(@)(?=[\w-])")


def literal(text: object) -> str:
    """`text` as it must be written so that Streamlit's Markdown (with or without HTML, KaTeX
    included), its widget labels and plotly show exactly these characters (with an invisible
    word joiner inside an emoji shortcode or a bare link). None is ''."""
    if text is None:
        return ""
    s = _TEXT_PATTERNS.sub(lambda m: m.group(0) + _WORD_JOINER, str(text)).translate(_LITERAL)
    # at the start of a Markdown body: no indented code block, list, heading or thematic break
    return _BLOCK_START.sub(lambda m: "&#32;" * len(m.group(1)) + (
        m.group(2)[:-1] + f"&#{ord(m.group(2)[-1])};" if m.group(2) else ""), s, count=1)


def html_text(text: object) -> str:
    """`text` escaped for an HTML document (element text or a quoted attribute). None is ''."""
    return "" if text is None else html.escape(str(text), quote=True)


# In a Markdown file: backslash escapes (CommonMark allows one before any ASCII punctuation)
# for the characters that make emphasis, links, code, HTML, tables, math and entities anywhere
# in a line; for those that start a block, only at the start of the text; and the word joiner
# of `literal` for emoji shortcodes and bare links, which renderers find after the escapes.
# (an underscore inside a word, as in file names, never makes emphasis: left as it is)
_MD_ANYWHERE = re.compile(r"([\\`*\[\]<>|~$&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_MD_LINE_START = re.compile(r"^()([-+=#]|\d+[.)])")


def markdown_file(text: object) -> str:
    """`text` for a Markdown file, shown literally whether the file is read as text or rendered.
    Line breaks become spaces (the text stays inside its list item). None is ''."""
    if text is None:
        return ""
    s = re.sub(r"\s*[\r\n]+\s*", " ", str(text)).strip()  # leading spaces could make a code block
    s = _TEXT_PATTERNS.sub(lambda m: m.group(0) + _WORD_JOINER, s)
    s = _MD_ANYWHERE.sub(r"\\\1", s)
    return _MD_LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], s)
