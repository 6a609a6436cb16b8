"""Links between the docs, and from code to docs/method.md, point at files and headings that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+?\.md)(?:#([\w\-]+))?\)")  # markdown links to .md pages
METHOD_REF = re.compile(r"docs/method\.md#([\w\-]+)")  # plain citations in code and configs


def anchors(page: Path) -> set[str]:
    """GitHub-style heading anchors of a markdown page (code blocks skipped)."""
    out, fence = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def project_files(*suffixes: str) -> list[Path]:
    """The files of the package, tests, benchmarks, configs and docs with these endings."""
    found = [ROOT / "README.md"]
    for folder in ("src", "tests", "benchmarks", "configs", "docs", "scripts"):
        found += [p for p in (ROOT / folder).rglob("*") if p.suffix in suffixes and p.is_file()]
    return found


def test_anchor_rule_matches_github():
    page = ROOT / "docs" / "method.md"
    assert {"the-papers-figures", "worked-example", "corpus-and-link-graph"} <= anchors(page)


@pytest.mark.parametrize(
    "page", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))], ids=lambda p: p.name
)
def test_markdown_links_resolve(page):
    broken = []
    for target, anchor in LINK.findall(page.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        dest = (page.parent / target).resolve()
        if not dest.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and anchor not in anchors(dest):
            broken.append(f"{target}#{anchor} (no such heading)")
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def test_code_cites_existing_method_sections():
    known = anchors(ROOT / "docs" / "method.md")
    broken = [
        f"{path.relative_to(ROOT)}: #{a}"
        for path in project_files(".py", ".yaml", ".md")
        for a in METHOD_REF.findall(path.read_text(encoding="utf-8"))
        if a not in known
    ]
    assert not broken, broken
