"""The YAML files under configs/ load, and configs/run.yaml says what `longtracerl run` does by default."""

from pathlib import Path

import pytest

from longtracerl.config import load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_run_yaml_holds_the_run_defaults():
    from longtracerl.run import load_run_config

    assert load_run_config(CONFIGS / "run.yaml") == load_run_config(None)


@pytest.mark.parametrize(
    ("module", "cls", "section"),
    [
        ("longtracerl.corpus.config", "CorpusConfig", "corpus"),
        ("longtracerl.walks.config", "WalksConfig", "walks"),
        ("longtracerl.questions.config", "QuestionsConfig", "questions"),
        ("longtracerl.agent.config", "AgentConfig", "agent"),
        ("longtracerl.contexts.config", "ContextsConfig", "contexts"),
        ("longtracerl.report.config", "ReportConfig", "report"),
    ],
)
def test_each_stage_command_reads_its_section_of_run_yaml(module, cls, section):
    import importlib

    import yaml

    config_cls = getattr(importlib.import_module(module), cls)
    cfg = load_config(config_cls, CONFIGS / "run.yaml", section=section)
    written = yaml.safe_load((CONFIGS / "run.yaml").read_text())[section]
    dumped = cfg.model_dump(mode="json")
    for key, value in written.items():
        if not isinstance(value, dict):
            assert dumped[key] == value, (section, key)


def test_eval_paper_yaml_loads():
    from longtracerl.evals.config import EvalConfig

    cfg = load_config(EvalConfig, CONFIGS / "eval-paper.yaml", section="eval")
    assert (cfg.samples, cfg.temperature) == (4, 0.6)
