import pytest


@pytest.fixture(scope="session")
def smol_tok():
    """The real SmolLM2 tokenizer (chat template included), from the offline GGUF."""
    from longtracerl.train.config import ModelSection
    from longtracerl.train.model import load_tokenizer

    return load_tokenizer(ModelSection(source="tiny-random", tokenizer="smollm2"))
