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
