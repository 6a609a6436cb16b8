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

from longtracerl.config import (
    ConfigError,
    Field,
    NonNegFloat,
    NonNegInt,
    PosInt,
    PosUnitFloat,
    StageConfig,
    UnitFloat,
)


class CorpusConfig(StageConfig):
    """Options of ``corpus prepare``: input policy, link-graph rules and the search-index hook."""

    # -- input policy ------------------------------------------------------------------------
    skip_bad: bool = False
    """Turn bad records (malformed JSON line, missing title, non-UTF-8 bytes, wrong types, duplicate ids) into
    counted skips written to CORPUS/skipped.jsonl instead of errors."""
    max_chars: NonNegInt = 0
    """Cap each page's text at this many characters (0: no cap). Capped pages are counted."""

    clean_markup: bool = True
    """Strip markup from page text (markdown headings, lists and emphasis, wikitext links, templates and
    tables, HTML tags, KILT Section::::/BULLET:::: markers); headings and list items keep their own lines.
    See corpus/markup.py. Cleaned pages are counted."""

    # -- link graph --------------------------------------------------------------------------
    links: Literal["auto", "anchors", "mentions"] = "auto"
    """Where edges come from: 'anchors' = the links the source carries (KILT anchors, JSONL links); 'mentions'
    = rebuilt from title mentions in page text; 'auto' = anchors when any page carries links, else
    mentions."""
    strip_qualifier: bool = True
    """Match a title without its trailing parenthesised qualifier: 'Paris (band)' -> 'Paris'."""
    qualifier_evidence: bool = True
    """A mention of a qualified title's base ('Marianas Trench' for 'Marianas Trench (band)') links only when
    a word of the qualifier ('band') occurs in the mentioning page; this also picks among several qualified
    pages sharing the base. A page with the bare title always owns the base."""
    ambiguous_base: Literal["drop", "first"] = "drop"
    """When a base is shared by several qualified titles ('Mercury (planet)', 'Mercury (element)'), no page
    has the bare title and several candidates show qualifier evidence (or, with qualifier_evidence off,
    always): 'drop' the mention or link the 'first' such candidate in corpus order."""
    min_title_chars: PosInt = 4
    """Titles (after qualifier stripping) shorter than this are not matched."""
    require_letter: bool = True
    """Titles without any letter (e.g. '1989', '24/7') are not matched."""
    common_word_share: UnitFloat = 0.0001
    """A title is a common word, and not matched, when its lower-cased form occurs as a whole word in at least
    max(common_word_min_pages, common_word_share * pages) pages ('Time', 'Band', 'Novel'). Set
    common_word_min_pages very high to disable."""
    common_word_min_pages: PosInt = 3
    """Floor of the common-word page count (see common_word_share)."""
    common_word_phrases: bool = False
    """Apply the common-word test to multi-word titles too ('The City', 'High School'). Off by default: on
    HotpotQA it drops 340 forms / ~3.3k links of mixed precision ('The Times', 'The Wire' go too) for a
    second full text scan."""
    max_mention_share: PosUnitFloat = 0.05
    """A title mentioned in more than this share of pages is not matched (hubs, months)."""
    qualified_max_mention_share: PosUnitFloat = 0.001
    """Stricter cap for a base taken from a qualified title ('James (band)' -> 'James'): such a page is not
    the main sense of its base, so a frequently mentioned base mostly means something else."""
    share_floor_pages: NonNegInt = 10
    """Never drop a title as too frequent when it is mentioned in at most this many pages."""

    symmetric_mentions: bool = True
    """Add the reverse of every mention edge (A mentions B -> also B -> A). Intro-paragraph corpora are too
    sparse as directed graphs for 8-hop walks (HotpotQA: 3.8 % of pages with more than 3 out-links
    directed, 12 % symmetric). Anchor graphs stay directed."""

    # -- downstream hook -----------------------------------------------------------------------
    build_index: bool = True
    """After pages and graph, build the search index with longtracerl.search.index.build_index."""
    index_shard_mb: NonNegFloat | None = Field(None, exclude=True)
    """Search index shard size in millions of characters of page text (the search stage's shard_mb; None = its
    default, 1000). Bounds the index build's memory whatever the corpus size; 0 = one shard. See
    docs/scale.md. Not part of the corpus config hash (the index scores the same whatever the shards)."""
    index_writer_heap_mb: int | None = Field(None, ge=16, exclude=True)
    """tantivy writer heap for the search index, MB (the search stage's writer_heap_mb; None = its default,
    256). Not part of the corpus config hash."""

    @model_validator(mode="after")
    def _check(self) -> CorpusConfig:
        if self.qualified_max_mention_share > self.max_mention_share:
            raise ConfigError(
                f"qualified_max_mention_share={self.qualified_max_mention_share} is above "
                f"max_mention_share={self.max_mention_share}; the qualified cap must be the stricter one "
                "(lower it, or raise max_mention_share)"
            )
        return self
