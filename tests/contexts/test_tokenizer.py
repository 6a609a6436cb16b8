import pytest

from longtracerl.contexts.prompt import PromptCoster
from longtracerl.contexts.tokenizer import TokenizerError, load_tokenizer


def test_default_is_smollm2_and_counts_real_tokens(tok):
    assert "SmolLM2" in tok.name
    # byte-level BPE: a common word is one token, a long rare string many
    assert tok.count("Paris") == 1
    assert tok.count("Paris is the capital of France.") == 7
    assert tok.count_batch(["Paris", "", "a b c"]) == [1, 0, 3]
    assert tok.count_batch([]) == []


def test_truncate_is_a_prefix_with_at_most_n_tokens(tok):
    text = "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris."
    for n in (0, 1, 5, 12, 1000):
        cut = tok.truncate(text, n)
        assert text.startswith(cut)
        assert tok.count(cut) <= n
    assert tok.truncate(text, 1000) == text


def test_converted_tokenizer_is_cached(tmp_path):
    a = load_tokenizer(cache=tmp_path)
    files = list((tmp_path / "tokenizers").glob("*.json"))
    assert len(files) == 1
    b = load_tokenizer(cache=tmp_path)
    assert a.fingerprint == b.fingerprint
    # a tokenizer.json file and its folder load too
    c = load_tokenizer(files[0])
    folder = tmp_path / "tok"
    folder.mkdir()
    (folder / "tokenizer.json").write_bytes(files[0].read_bytes())
    d = load_tokenizer(folder)
    assert c.count("hello world") == d.count("hello world") == a.count("hello world")


def test_unloadable_tokenizer_names_the_path_and_attempts(tmp_path):
    with pytest.raises(TokenizerError) as err:
        load_tokenizer(tmp_path / "nope")
    msg = str(err.value)
    assert str(tmp_path / "nope") in msg and "tried" in msg and "Hugging Face cache" in msg
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(TokenizerError) as err:
        load_tokenizer(bad)
    assert str(bad) in str(err.value) and "tokenizer.json file" in str(err.value)
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    with pytest.raises(TokenizerError) as err:
        load_tokenizer(empty)
    assert str(empty) in str(err.value)


def test_prompt_layout_is_additive_for_smollm2(tok):
    c = PromptCoster(tok)
    assert c.additive
    assert c.sep == 2


def test_count_batch_equals_the_tokenizer_on_real_pages_and_edge_cases(tok):
    """count_batch sums cached pre-token counts (byte-level BPE): on 3,000 embedded Wikipedia
    pages (ASCII and not) and on texts built to hit each branch of the pre-token split and each
    character class, the counts are the tokenizer's own, in a cold and a warm cache."""
    import itertools

    from longtracerl.assets import asset_path
    from longtracerl.contexts import tokenizer as tk
    from longtracerl.contexts.prompt import render_doc
    from longtracerl.corpus.loaders import LoadContext, load_hotpotqa

    loaded = itertools.islice(load_hotpotqa(LoadContext(asset_path("hotpotqa"))), 3000)
    pages = [render_doc(x.page.title, x.page.text) for x in loaded]
    odd = [
        "",
        " ",
        "   ",
        "a  b",
        "a   ",
        "x \nb",
        "\n\n  \tword\r\n",
        "it's He'S they're we've I'm you'll he'd 'tis ''s",
        "1990s 3.14 1,000,000 -42 a1b2",
        "!!! ?! --> <b>bold</b> [1] (x) {y} #tag @user",
        "form\x0cfeed, file\x1cseparator, next\x85line, vertical\x0btab, nul\x00",
        "a <|im_start|>system\nhi<|im_end|> b",
        "Zürich – São Paulo’s “café” ÷ 中文 　 ideographic space",
        "no\xa0break  \xa0 x, combining e\u0301 and \u0301alone, ٣ Ⅻ ½ ²",
        "emoji 😀😀 x😀y, unassigned \u0378 and private \ue000",
        "trailing spaces before newline   \nnext",
    ]
    expected = [tok.count(t) for t in odd + pages]
    tk._pre_tokens.clear()  # cold
    tk._counters.clear()
    fresh = tk.load_tokenizer()
    assert fresh is not tok and fresh._pre is not tok._pre
    assert fresh._pre is not None  # SmolLM2 takes the pre-token path
    assert fresh.count_batch(odd + pages) == expected
    assert sum(not p.isascii() for p in pages) > 500  # both kinds of page were counted
    assert len(fresh._pre.counts) > 1000 and len(fresh._pre.stand_in) > 100
    # the pattern was compiled with the characters met early; later ones went through stand-ins
    assert 32 <= fresh._pre._compiled < len(fresh._pre.stand_in)
    assert fresh._pre.split(odd[11]) is None  # added tokens: the tokenizer itself
    assert fresh.count_batch(list(reversed(odd + pages))) == expected[::-1]  # warm


def test_the_probe_tells_the_four_character_classes_apart():
    from longtracerl.contexts.tokenizer import _ASCII_PRETOKENS, _PROBE, _STAND_INS

    splits = {tuple(m.span() for m in _ASCII_PRETOKENS.finditer(_PROBE.replace("C", s))) for s in _STAND_INS}
    assert len(splits) == len(_STAND_INS)


def test_pre_token_path_only_for_a_byte_level_bpe_without_normalizer(tok):
    from tokenizers import Tokenizer, normalizers

    from longtracerl.contexts.tokenizer import TokenCounter

    backend = Tokenizer.from_str(tok._tok.to_str())
    backend.normalizer = normalizers.Lowercase()  # counts no longer add up over raw pre-tokens
    lowered = TokenCounter(backend, "lowercased")
    assert lowered._pre is None
    assert lowered.count_batch(["Paris IS", "a b"]) == [lowered.count("Paris IS"), 2]


def test_a_tokenizer_file_is_loaded_once_per_process_while_unchanged(tmp_path, tok):
    import os

    from longtracerl.contexts.tokenizer import load_tokenizer

    path = tmp_path / "tokenizer.json"
    path.write_text(tok._tok.to_str(), encoding="utf-8")
    a, b = load_tokenizer(path), load_tokenizer(path)
    assert a is b
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # the file changed
    c = load_tokenizer(path)
    assert c is not a and c.fingerprint == a.fingerprint


def test_count_batch_from_several_threads_at_once(tok, monkeypatch):
    """eval counts prompts from worker threads: the shared pre-token cache must stay whole while
    one thread clears it (a small cache) and others place new characters."""
    from concurrent.futures import ThreadPoolExecutor

    from tokenizers import Tokenizer

    from longtracerl.contexts import tokenizer as tk

    monkeypatch.setattr(tk, "_pre_tokens", {})
    monkeypatch.setattr(tk, "_PIECE_CACHE_MAX", 120)  # cleared again and again
    counter = tk.TokenCounter(Tokenizer.from_str(tok._tok.to_str()), "threads")
    assert counter._pre is not None
    scripts = ["abcdefghij", "αβγδεζηθικ", "абвгдежзий", "日本語中文字漢語文書", "ÀÉÎÕÜçñøåæ"]
    batches = [  # small batches (fewer distinct pre-tokens than the cache holds), many of them
        [
            " ".join(s[(i + j) % len(s)] * (1 + j % 3) + str((i * j + b) % 97) for j in range(8))
            for i in range(4)
        ]
        for b in range(12)
        for s in scripts
    ]
    expected = [[tok.count(t) for t in batch] for batch in batches]

    def work(k: int) -> list[list[int]]:
        return [counter.count_batch(batches[(k + r) % len(batches)]) for r in range(len(batches))]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(8)))
    for k, got in enumerate(results):
        assert got == [expected[(k + r) % len(batches)] for r in range(len(batches))]


def test_a_tokenizer_file_with_truncation_counts_whole_texts(tmp_path, tok):
    from tokenizers import Tokenizer

    from longtracerl.contexts.tokenizer import load_tokenizer

    backend = Tokenizer.from_str(tok._tok.to_str())
    backend.enable_truncation(max_length=4)
    backend.enable_padding(length=64)
    path = tmp_path / "tokenizer.json"
    path.write_text(backend.to_str(), encoding="utf-8")
    loaded = load_tokenizer(path)
    text = "Paris is the capital and most populous city of France."
    assert loaded.count(text) == loaded.count_batch([text])[0] == tok.count(text) > 4
    assert loaded.truncate(text, 100) == text
