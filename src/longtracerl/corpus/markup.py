"""Page text without markup: what ``corpus prepare`` stores for the formats that carry some.

:func:`clean_page_text` turns markdown, wikitext leftovers and KILT markers into plain text that
keeps a readable structure: one paragraph per line, a heading as its own line ending in a colon
(``## Family`` -> ``Family:``), a list item as its own line (``- x``, ``* x``, ``1. x``,
``BULLET::::- x`` -> ``x``), so a sentence splitter never glues a heading to the sentence after
it. Removed: markdown emphasis, links (their text stays), images, code fences and backticks, HTML
tags and comments, ``<ref>`` notes, wikitext templates ``{{...}}``, tables ``{| ... |}``, bold and
italic quotes, file/category links; ``[[A|B]]`` -> ``B``, ``[[A]]`` -> ``A``; HTML entities are
unescaped (also in titles: :func:`clean_title`); empty brackets left behind (``( )``, ``(; )``) are dropped. A first heading that
repeats the page title is dropped (page text never repeats the title).

Text without any markup character comes back unchanged; headings and list items are only read in
multi-line text (a one-paragraph page such as ``1. FC Köln is ...`` keeps its first words). In the
embedded HotpotQA paragraphs it fixes the pronunciation leftovers (``Verdi (] ; 9 or 10 October
1813 – ...)`` -> ``Verdi (9 or 10 October 1813 – ...)``) and stray ``{'1': , '2': }`` groups.

Example:
    >>> clean_page_text("# Ada\\n\\n## Family\\nThe sister of **Ada** is [Bea](http://x).", "Ada")
    'Family:\\nThe sister of Ada is Bea.'
    >>> clean_page_text("Bold '''text''' and [[Paris|the capital]] {{cite web|x}}.")
    'Bold text and the capital.'
"""

from __future__ import annotations

import html
import re

_ANY_MARKUP = re.compile(r"[#*_`\[\]{}<>|=&]")
_IPA_OPEN = re.compile(r"\(\s*(?:[;,\]]\s*)+")  # HotpotQA: "(] ; born 1963)" -> "(born 1963)"
_IPA_MID = re.compile(r"\s*,?\s*\]\s*;")  # "(Russian: X , ] ; 18 August" -> "(Russian: X; 18 August"
_FENCE = re.compile(r"```.*?```", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_REF = re.compile(r"<ref[^>/]*?/>|<ref[^>]*>.*?</ref>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_TABLE = re.compile(r"\{\|.*?\|\}", re.DOTALL)
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_BRACE_GROUP = re.compile(r"\{[^{}]*\}")
_FILE_LINK = re.compile(
    r"\[\[(?:File|Image|Category):[^\[\]]*(?:\[\[[^\[\]]*\]\][^\[\]]*)*\]\]", re.IGNORECASE
)
_WIKI_LINK = re.compile(r"\[\[([^\[\]|]*)(?:\|([^\[\]]*))?\]\]")
_EXT_LINK = re.compile(r"\[(?:https?|ftp)://\S+\s+([^\]]*)\]|\[(?:https?|ftp)://\S+\]")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_BOLD_ITALIC = re.compile(r"'{2,5}")
_EMPHASIS = re.compile(r"(?<![\w*])(\*{1,3}|_{2,3})(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_UNDERSCORE_EM = re.compile(r"(?<![\w])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w])")
_CODE = re.compile(r"`+([^`]*)`+")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_WIKI_HEADING = re.compile(r"^\s*(={2,6})\s*(.*?)\s*\1\s*$")
_KILT_SECTION = re.compile(r"^\s*Section::::(.*)$")
_KILT_BULLET = re.compile(r"^\s*BULLET::::\s*(?:[-*]\s*)?(.*)$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)]|[*#:;]+)\s+(.*)$")
_RULE = re.compile(r"^\s*(?:[-*_=]\s*){3,}$")
_EMPTY_BRACKETS = re.compile(r"\s*\(\s*[,;:]?\s*\)|\s*\[\s*\]")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])(?=\s|$)")
_LEFTOVER = re.compile(r"[{}]|\[\[|\]\]|\|")


def _heading(text: str) -> str:
    text = text.strip().rstrip(".:").strip()
    return f"{text}:" if text else ""


def _inline(text: str) -> str:
    text = _FILE_LINK.sub("", text)
    text = _WIKI_LINK.sub(lambda m: m.group(2) if m.group(2) is not None else m.group(1), text)
    text = _EXT_LINK.sub(lambda m: m.group(1) or "", text)
    text = _IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _BOLD_ITALIC.sub("", text)
    for _ in range(2):
        text = _EMPHASIS.sub(r"\2", text)
    text = _UNDERSCORE_EM.sub(r"\1", text)
    text = _IPA_MID.sub(";", _IPA_OPEN.sub("(", text))
    text = _LEFTOVER.sub(" ", text)
    text = _EMPTY_BRACKETS.sub("", text)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(text.split()))


def clean_title(title: str) -> str:
    """A page title with HTML entities unescaped (``Tunnels &amp; Trolls`` -> ``Tunnels & Trolls``)."""
    return " ".join(html.unescape(title).split()) if "&" in title else title


def clean_page_text(text: str, title: str | None = None) -> str:
    """Plain text with one paragraph, heading or list item per line (module docstring)."""
    if not _ANY_MARKUP.search(text) and "''" not in text and "::::" not in text:
        return text
    multiline = "\n" in text.strip()
    text = _FENCE.sub("\n", text)
    text = _COMMENT.sub("", text)
    text = _REF.sub("", text)
    text = _TABLE.sub("\n", text)
    for _ in range(3):  # nested templates, innermost first
        text = _TEMPLATE.sub("", text)
    text = _BRACE_GROUP.sub("", text)  # leftovers such as "{'1': , '2': }"
    text = _TAG.sub("", text)
    text = html.unescape(text)
    lines: list[str] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            line = _inline(" ".join(para))
            if line:
                lines.append(line)
            para.clear()

    for raw in text.split("\n"):
        if not raw.strip() or _RULE.match(raw):
            flush()
            continue
        m = _KILT_SECTION.match(raw) or _WIKI_HEADING.match(raw) or (multiline and _MD_HEADING.match(raw))
        if m:
            flush()
            name = m.group(m.lastindex or 1)
            if _KILT_SECTION.match(raw):
                name = name.split(".:")[-1]
            head = _heading(_inline(name))
            if head and not (not lines and title and head[:-1].strip().lower() == title.strip().lower()):
                lines.append(head)
            continue
        m = _KILT_BULLET.match(raw) or (multiline and _LIST_ITEM.match(raw))  # "1. FC Köln is ..." stays
        if m:
            flush()
            item = _inline(m.group(1))
            if item:
                lines.append(item)
            continue
        para.append(raw.strip())
    flush()
    return "\n".join(lines)
