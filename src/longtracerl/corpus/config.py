"""Configuration of the corpus stage (``longtracerl corpus prepare``).

Every field has a default that works offline on the embedded HotpotQA corpus. The thresholds of
the title-mention link builder were picked by measurement on that corpus (see docs/corpus.md).

Example:
    >>> from longtracerl.config import load_config
    >>> cfg = load_config(CorpusConfig, overrides=["min_title_chars=5", "build_index=false"])
    >>> cfg.min_title_chars, cfg.build_index, cfg.links
    (5, False, 'auto')
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from longtracerl.config import ConfigError, Field, StageConfig


class CorpusConfig(StageConfig):
    """Options of ``corpus prepare``: input policy, link-graph rules and the search-index hook."""

    # -- input policy ------------------------------------------------------------------------
    skip_bad: bool = Field(
        default=False,
        description=(
            "Turn bad records (malformed JSON line, missing title, non-UTF-8 bytes, wrong types, "
            "duplicate ids) into counted skips written to CORPUS/skipped.jsonl instead of errors."
        ),
    )
    max_chars: int = Field(
        default=0,
        ge=0,
        description="Cap each page's text at this many characters (0: no cap). Capped pages are counted.",
    )

    clean_markup: bool = Field(
        default=True,
        description=(
            "Strip markup from page text (markdown headings, lists and emphasis, wikitext links, "
            "templates and tables, HTML tags, KILT Section::::/BULLET:::: markers); headings and "
            "list items keep their own lines. See corpus/markup.py. Cleaned pages are counted."
        ),
    )

    # -- link graph --------------------------------------------------------------------------
    links: Literal["auto", "anchors", "mentions"] = Field(
        default="auto",
        description=(
            "Where edges come from: 'anchors' = the links the source carries (KILT anchors, JSONL "
            "links); 'mentions' = rebuilt from title mentions in page text; 'auto' = anchors when "
            "any page carries links, else mentions."
        ),
    )
    strip_qualifier: bool = Field(
        default=True,
        description="Match a title without its trailing parenthesised qualifier: 'Paris (band)' -> 'Paris'.",
    )
    qualifier_evidence: bool = Field(
        default=True,
        description=(
            "A mention of a qualified title's base ('Marianas Trench' for 'Marianas Trench (band)') "
            "links only when a word of the qualifier ('band') occurs in the mentioning page; this "
            "also picks among several qualified pages sharing the base. A page with the bare title "
            "always owns the base."
        ),
    )
    ambiguous_base: Literal["drop", "first"] = Field(
        default="drop",
        description=(
            "When a base is shared by several qualified titles ('Mercury (planet)', 'Mercury "
            "(element)'), no page has the bare title and several candidates show qualifier evidence "
            "(or, with qualifier_evidence off, always): 'drop' the mention or link the 'first' "
            "such candidate in corpus order."
        ),
    )
    min_title_chars: int = Field(
        default=4, ge=1, description="Titles (after qualifier stripping) shorter than this are not matched."
    )
    require_letter: bool = Field(
        default=True, description="Titles without any letter (e.g. '1989', '24/7') are not matched."
    )
    common_word_share: float = Field(
        default=0.0001,
        ge=0.0,
        le=1.0,
        description=(
            "A title is a common word, and not matched, when its lower-cased form occurs as a whole "
            "word in at least max(common_word_min_pages, common_word_share * pages) pages "
            "('Time', 'Band', 'Novel'). Set common_word_min_pages very high to disable."
        ),
    )
    common_word_min_pages: int = Field(
        default=3, ge=1, description="Floor of the common-word page count (see common_word_share)."
    )
    common_word_phrases: bool = Field(
        default=False,
        description=(
            "Apply the common-word test to multi-word titles too ('The City', 'High School'). Off by "
            "default: on HotpotQA it drops 340 forms / ~3.3k links of mixed precision ('The Times', "
            "'The Wire' go too) for a second full text scan."
        ),
    )
    max_mention_share: float = Field(
        default=0.05,
        gt=0.0,
        le=1.0,
        description="A title mentioned in more than this share of pages is not matched (hubs, months).",
    )
    qualified_max_mention_share: float = Field(
        default=0.001,
        gt=0.0,
        le=1.0,
        description=(
            "Stricter cap for a base taken from a qualified title ('James (band)' -> 'James'): such a "
            "page is not the main sense of its base, so a frequently mentioned base mostly means "
            "something else."
        ),
    )
    share_floor_pages: int = Field(
        default=10,
        ge=0,
        description="Never drop a title as too frequent when it is mentioned in at most this many pages.",
    )

    symmetric_mentions: bool = Field(
        default=True,
        description=(
            "Add the reverse of every mention edge (A mentions B -> also B -> A). Intro-paragraph "
            "corpora are too sparse as directed graphs for 8-hop walks (HotpotQA: 3.8 % of pages "
            "with more than 3 out-links directed, 12 % symmetric). Anchor graphs stay directed."
        ),
    )

    # -- downstream hook -----------------------------------------------------------------------
    build_index: bool = Field(
        default=True,
        description="After pages and graph, build the search index with longtracerl.search.index.build_index.",
    )
    index_shard_mb: float | None = Field(
        default=None,
        ge=0.0,
        description="Search index shard size in millions of characters of page text (the search "
        "stage's shard_mb; None = its default, 1000). Bounds the index build's memory whatever the "
        "corpus size; 0 = one shard. See docs/scale.md. Not part of the corpus config hash (the "
        "index scores the same whatever the shards).",
        exclude=True,
    )
    index_writer_heap_mb: int | None = Field(
        default=None,
        ge=16,
        description="tantivy writer heap for the search index, MB (the search stage's writer_heap_mb; "
        "None = its default, 256). Not part of the corpus config hash.",
        exclude=True,
    )

    @model_validator(mode="after")
    def _check(self) -> CorpusConfig:
        if self.qualified_max_mention_share > self.max_mention_share:
            raise ConfigError(
                f"qualified_max_mention_share={self.qualified_max_mention_share} is above "
                f"max_mention_share={self.max_mention_share}; the qualified cap must be the stricter one "
                "(lower it, or raise max_mention_share)"
            )
        return self
