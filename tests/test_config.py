import pytest
from pydantic import ValidationError

from longtracerl.config import (
    ConfigError,
    Field,
    PosInt,
    StageConfig,
    UnitFloat,
    build,
    config_hash,
    load_config,
    resolve,
)


class Inner(StageConfig):
    k: int = Field(default=5, description="top-k")


class Cfg(StageConfig):
    hops: int = Field(default=8, ge=1, description="steps")
    name: str = "x"
    inner: Inner = Inner()


def test_yaml_and_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("hops: 6\ninner:\n  k: 3\n")
    cfg = load_config(Cfg, p, ["inner.k=9", "name=hello"])
    assert (cfg.hops, cfg.inner.k, cfg.name) == (6, 9, "hello")


def test_a_section_is_read_from_a_whole_pipeline_file_and_any_other_file_is_read_whole(tmp_path):
    whole = tmp_path / "pipeline.yaml"
    whole.write_text("walks:\n  hops: 4\nmine:\n  hops: 6\n")
    alone = tmp_path / "alone.yaml"
    alone.write_text("hops: 7\n")
    assert load_config(Cfg, whole, section="mine").hops == 6
    assert load_config(Cfg, alone, section="mine").hops == 7  # not ignored: the whole file is the config
    with pytest.raises(ConfigError, match="unknown key 'walks'.*the file has no 'other:' section"):
        load_config(Cfg, whole, section="other")  # a pipeline file without the section fails loudly
    empty = tmp_path / "empty.yaml"
    empty.write_text("mine:\nwalks:\n  hops: 4\n")
    assert load_config(Cfg, empty, section="mine").hops == 8  # an empty section: the defaults
    bad = tmp_path / "bad.yaml"
    bad.write_text("mine: 3\n")
    with pytest.raises(ConfigError, match=r"\[mine\]: expected a mapping"):
        load_config(Cfg, bad, section="mine")
    typo = tmp_path / "typo.yaml"
    typo.write_text("hosp: 3\n")
    with pytest.raises(ConfigError) as err:  # a plain typo: no talk of sections
        load_config(Cfg, typo, section="mine")
    assert "has no" not in str(err.value) and "did you mean 'hops'" in str(err.value)


def test_typed_values_win_over_the_set_strings():
    from longtracerl.config import parse_overrides

    tree = parse_overrides(["inner.k=3", "name=yes"], [("inner.k", 9), ("hops", 2)])
    assert tree == {"inner": {"k": 9}, "name": True, "hops": 2}
    assert load_config(Cfg, None, parse_overrides(["inner.k=3"], [("inner.k", 9)])).inner.k == 9


def test_unknown_key_suggests(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("hops: 6\ninner:\n  kk: 3\n")
    with pytest.raises(ConfigError, match=r"unknown key 'inner.kk' \(did you mean 'inner.k'\?\)"):
        load_config(Cfg, p)


def test_bad_value_names_field():
    with pytest.raises(ConfigError, match="field 'hops'"):
        load_config(Cfg, overrides=["hops=0"])


def test_bad_yaml_names_line(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("hops: 6\n  bad: [\n")
    with pytest.raises(ConfigError, match=str(p)):
        load_config(Cfg, p)


def test_hash_changes_with_config():
    assert config_hash(Cfg()) == config_hash(Cfg())
    assert config_hash(Cfg()) != config_hash(Cfg(hops=7))


def test_registry_resolve():
    reg = {"a": 1, "json": "json:dumps"}
    assert resolve(reg, "a", "thing") == 1
    import json

    assert resolve(reg, "json", "thing") is json.dumps
    assert resolve(reg, "os.path:join", "thing") is __import__("os").path.join
    with pytest.raises(ConfigError, match="unknown thing 'b'. Valid: a, json"):
        resolve(reg, "b", "thing")


def test_defaults_rank_below_yaml_and_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("inner:\n  k: 3\n")
    defaults = {"hops": 4, "inner": {"k": 1}, "name": "d"}
    cfg = load_config(Cfg, p, ["name=o"], defaults=defaults)
    assert (cfg.hops, cfg.inner.k, cfg.name) == (4, 3, "o")
    with pytest.raises(ConfigError, match="<defaults>: unknown key 'hop'"):
        load_config(Cfg, defaults={"hop": 1})


def test_cross_field_error_is_plain():
    from pydantic import model_validator

    class Pair(StageConfig):
        lo: int = 1
        hi: int = 2

        @model_validator(mode="after")
        def _order(self):
            if self.lo > self.hi:
                raise ValueError(f"field 'lo': {self.lo} > hi={self.hi}; set lo <= hi")
            return self

    with pytest.raises(ConfigError) as info:
        load_config(Pair, overrides=["lo=5"])
    assert str(info.value) == "command line: field 'lo': 5 > hi=2; set lo <= hi"


def test_an_unqualified_key_suggests_the_nested_field_it_names():
    from longtracerl.run import load_run_config

    with pytest.raises(ConfigError, match=r"unknown key 'hops' \(did you mean 'walks.hops'\?\)"):
        load_run_config(None, ["hops=6"])
    with pytest.raises(ConfigError, match=r"unknown key 'walks.hosp' \(did you mean 'walks.hops'\?\)"):
        load_run_config(None, ["walks.hosp=6"])
    assert load_run_config(None, ["walks.hops=6"]).walks.hops == 6


def test_a_bad_value_from_the_command_line_is_labelled_so(tmp_path):
    from longtracerl.run import load_run_config

    with pytest.raises(ConfigError, match=r"^command line: field 'contexts.target_tokens'"):
        load_run_config(None, ["contexts.target_tokens=10"])
    p = tmp_path / "run.yaml"
    p.write_text("contexts:\n  target_tokens: 10\n")
    with pytest.raises(ConfigError, match=rf"^{p}: field 'contexts.target_tokens'"):
        load_run_config(p, ["walks.hops=5"])


class Documented(StageConfig):
    tries: PosInt | None = 3
    """How many tries
    (None: no limit)."""
    share: UnitFloat = 0.5


def test_attribute_docstring_is_the_field_description_and_aliases_keep_their_bounds():
    fields = Documented.model_fields
    assert fields["tries"].description == "How many tries\n(None: no limit)."
    assert fields["share"].description is None
    assert load_config(Documented, overrides=["tries=null"]).tries is None
    with pytest.raises(ConfigError, match=r"field 'tries': Input should be greater than or equal to 1"):
        load_config(Documented, overrides=["tries=0"])
    with pytest.raises(ConfigError, match=r"field 'share': Input should be less than or equal to 1"):
        load_config(Documented, overrides=["share=1.5"])
    with pytest.raises(ValidationError, match="frozen"):
        Documented().tries = 4  # type: ignore[misc]


def test_stage_configs_describe_their_fields_in_docstrings():
    from longtracerl.agent.config import AgentConfig
    from longtracerl.walks.config import WalksConfig

    assert (
        AgentConfig.model_fields["attempts"].description
        == "Attempts per question; stops at the first correct."
    )
    assert all(f.description for f in WalksConfig.model_fields.values())


def test_build_calls_the_named_factory_and_names_one_that_gives_the_wrong_object():
    class Chooser:
        def choose(self):
            return 1

    registry = {"good": lambda k: Chooser(), "bad": lambda k: object()}
    assert build(registry, "good", "chooser", "choose", 3).choose() == 1
    with pytest.raises(ConfigError, match=r"chooser 'bad' did not give an object with a choose\(\) method"):
        build(registry, "bad", "chooser", "choose", 3)
