"""The per-page token-count files in the user cache: kept while used, pruned beyond a bound."""

import os

from longtracerl.contexts import assemble
from longtracerl.contexts.assemble import DocTokenCache


def test_a_save_keeps_the_most_recently_used_count_files(tmp_path, monkeypatch):
    monkeypatch.setattr(assemble, "DOC_TOKEN_FILES_KEPT", 3)
    folder = tmp_path / "doc_tokens"
    folder.mkdir()
    for i in range(5):  # older runs' files, oldest first
        f = folder / f"old{i}.json"
        f.write_text("{}")
        os.utime(f, ns=(1_000_000_000 * (i + 1),) * 2)
    used = DocTokenCache(None, None, folder / "old0.json")  # the oldest, read now: used
    used.merge({"p1": ("Paris", 3)})
    used.save()
    assert sorted(f.name for f in folder.iterdir()) == ["old0.json", "old3.json", "old4.json"]
    assert DocTokenCache(None, None, folder / "old0.json").ntok == {"p1": 3}
    fresh = DocTokenCache(None, None, folder / "new.json")
    fresh.merge({"p2": ("Rome", 2)})
    fresh.save()
    assert sorted(f.name for f in folder.iterdir()) == ["new.json", "old0.json", "old4.json"]
