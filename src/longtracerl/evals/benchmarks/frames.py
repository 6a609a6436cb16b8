"""FRAMES (Google): 824 multi-hop questions, each with the Wikipedia articles needed to answer it.

Input: the published ``test.tsv`` (columns ``Prompt``, ``Answer``, ``wiki_links`` (a Python/JSON
list of URLs), ``wikipedia_link_1`` ... ``wikipedia_link_11+``, ``reasoning_types``), or the same
columns as CSV/JSONL/JSON/Parquet. The published file holds links only, so the article texts come
from one of (first that applies, per row):

1. a ``documents`` column: a list (or JSON string of a list) of ``{title, text}`` objects, as in the
   re-uploads that inline the articles;
2. a ``context`` column: the article text already joined;
3. ``--set articles=FILE``: a JSONL of ``{"url": ..., "title": ..., "text": ...}`` (one article per
   line; ``url`` or ``title`` needed); a row's links are matched by URL, then by the title in the URL.

A row whose articles cannot be found is an error naming the file, line and link.
Prompt: the articles (``<article title="...">`` blocks), the question, and a request to end with an
``Answer:`` line. Score: the answer judge, against ``Answer``.
"""

from __future__ import annotations

import ast
import html
import json
from urllib.parse import unquote, urlsplit

from longtracerl.evals.base import FileBenchmark, judged_score
from longtracerl.evals.items import EvalItem, Prompt
from longtracerl.records import RecordError, iter_json_lines

HEAD = "Here are Wikipedia articles:\n\n"
TAIL = (
    "\n\nUsing the articles above, answer this question:\n{question}\n\n"
    "End your response with a line of the form 'Answer: <your answer>'."
)


def url_key(url: str) -> str:
    """``https://en.wikipedia.org/wiki/Eiffel_Tower#x`` -> ``en.wikipedia.org/wiki/eiffel_tower``."""
    parts = urlsplit(url.strip())
    return f"{parts.netloc.lower()}{unquote(parts.path)}".lower().rstrip("/")


def title_key(text: str) -> str:
    return " ".join(unquote(text).replace("_", " ").split()).lower()


def title_of_url(url: str) -> str:
    return title_key(urlsplit(url.strip()).path.rsplit("/", 1)[-1])


def _links(row: dict, path: str, line: int) -> list[str]:
    raw = row.get("wiki_links")
    if isinstance(raw, list):
        return [str(u) for u in raw if u]
    if isinstance(raw, str) and raw.strip():
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            raise RecordError(path, line, "wiki_links", "not a list of URLs") from None
        if not isinstance(value, list | tuple):
            raise RecordError(path, line, "wiki_links", "not a list of URLs")
        return [str(u) for u in value if u]
    keys = sorted(
        (k for k in row if k.startswith("wikipedia_link_")),
        key=lambda k: int("".join(c for c in k[15:] if c.isdigit()) or 0),
    )
    return [str(row[k]).strip() for k in keys if row[k] and str(row[k]).strip()]


def _render(docs: list[tuple[str, str]]) -> str:
    return "\n\n".join(f'<article title="{html.escape(t)}">\n{x.strip()}\n</article>' for t, x in docs)


class Articles:
    """Article texts by URL and by title, from a JSONL file."""

    def __init__(self, path: str):
        self.path = path
        self.by_url: dict[str, tuple[str, str]] = {}
        self.by_title: dict[str, tuple[str, str]] = {}
        for line, obj in iter_json_lines(path):
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise RecordError(path, line, "text", "missing required field (article text)")
            url, title = obj.get("url"), obj.get("title")
            if not url and not title:
                raise RecordError(path, line, "url", "an article needs a url or a title")
            name = str(title or title_of_url(url))
            if url:
                self.by_url[url_key(str(url))] = (name, obj["text"])
            self.by_title.setdefault(title_key(str(title or title_of_url(url))), (name, obj["text"]))

    def get(self, url: str) -> tuple[str, str] | None:
        return self.by_url.get(url_key(url)) or self.by_title.get(title_of_url(url))


class Frames(FileBenchmark):
    name = "frames"
    title = "FRAMES"
    uses_judge = True
    data_hint = "PATH (the published test.tsv; see docs/evals.md)"
    fields = ("Prompt", "Answer")

    def start(self, path, cfg):
        self.articles = Articles(cfg.articles) if cfg.articles else None

    def item(self, row, line, path, cfg):
        body = self._body(row, self.articles, path, line)
        question = str(row["Prompt"]).strip()
        rid = row.get("Unnamed: 0") if row.get("Unnamed: 0") not in (None, "") else row.get("id")
        return EvalItem(
            f"frames-{rid}" if rid not in (None, "") else f"frames-{line:04d}",
            str(row["Answer"]).strip(),
            question,
            Prompt(HEAD, body, TAIL.format(question=question)),
            meta={"reasoning_types": row.get("reasoning_types")},
        )

    def _body(self, row, articles, path, line) -> str:
        docs = row.get("documents")
        if isinstance(docs, str) and docs.strip():
            try:
                docs = json.loads(docs)
            except json.JSONDecodeError:
                raise RecordError(path, line, "documents", "not a JSON list of {title, text}") from None
        if isinstance(docs, list) and docs:
            out = []
            for i, d in enumerate(docs):
                if not isinstance(d, dict) or not isinstance(d.get("text"), str):
                    raise RecordError(path, line, f"documents[{i}].text", "missing required field")
                out.append((str(d.get("title") or d.get("source") or f"Article {i + 1}"), d["text"]))
            return _render(out)
        if isinstance(row.get("context"), str) and row["context"].strip():
            return row["context"]
        links = _links(row, path, line)
        if articles is None:
            raise RecordError(
                path, line, "documents",
                "no article texts: give a 'documents' or 'context' column, or --set articles=FILE (JSONL of "
                "{url, title, text})",
            )  # fmt: skip
        if not links:
            raise RecordError(path, line, "wiki_links", "no Wikipedia links to look up in the articles file")
        found = []
        for url in links:
            doc = articles.get(url)
            if doc is None:
                raise RecordError(path, line, "wiki_links", f"article {url!r} is not in {articles.path}")
            found.append(doc)
        return _render(found)

    score = staticmethod(judged_score)


BENCHMARK = Frames()
