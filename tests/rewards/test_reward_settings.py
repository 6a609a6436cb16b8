"""Every reward setting has an effect on every path that accepts it.

One group of three responses, where each setting of :class:`RewardSettings` changes the rewards
or the rubric scores in a known way, goes through ``score_group``, ``reward score --set``,
``serve-reward --set`` (``/evaluate_group`` and, where it applies, ``/evaluate``) and
``score_one``. Each expected row is worked out by hand in the comments.
"""

from __future__ import annotations

import json

import httpx
import pytest
from test_reward_server import _evaluate_body, running

from longtracerl.cli import main
from longtracerl.rewards.combine import RewardSettings, score_group, score_one
from longtracerl.rewards.judge import RuleJudge

RUBRICS = ["alpha", "beta", "gamma"]
GROUP = [
    "alpha beta\n</think>\n\nParis. alphabet gamma<|im_end|>",  # right; 'alpha' only inside 'alphabet'
    "r\n</think>\n\nLyon. alpha<|im_end|>",  # wrong
    "r\n</think>\n\nParis.<|im_end|>",  # right, no rubric
]
T, S = 2 / 3, 1 / 3
# raw r = [2/3, 1/3, 0], M = 2/3, r' = [1, .5, 0]; positive-only, eta .3 -> [1, 0, .7]
DEFAULT = ([1.0, 0.0, 0.7], [T, S, 0.0])
CASES = {
    "mode=mix": ([1.0, 0.15, 0.7], [T, S, 0.0]),  # wrong answer gets eta * r' = .3 * .5
    "eta=0.5": ([1.0, 0.0, 0.5], [T, S, 0.0]),  # 1 - eta for the right answer without rubric
    "processor=deepseek-r1-qwen3": ([0.0, 0.0, 0.0], [T, S, 0.0]),  # <|im_end|> is a wrong stop there
    "use_reasoning=true": ([1.0, 0.0, 0.7], [1.0, S, 0.0]),  # 'beta' is in the reasoning
    "use_content=false": ([0.7, 0.0, 0.7], [0.0, 0.0, 0.0]),  # nothing scored: M = 0
    "word_boundary=true": ([1.0, 0.0, 0.7], [S, S, 0.0]),  # 'alphabet' no longer holds 'alpha'
    "group_normalise=false": ([0.7 + 0.3 * T, 0.0, 0.7], [T, S, 0.0]),  # r' = r
}


def _settings(case: str | None) -> RewardSettings:
    if case is None:
        return RewardSettings()
    key, _, value = case.partition("=")
    parsed = {"true": True, "false": False}.get(value, value)
    if key == "eta":
        parsed = float(value)
    return RewardSettings().replace(**{key: parsed})


def _check(rewards, rubrics, expected):
    assert rewards == pytest.approx(expected[0], abs=1e-12)
    assert rubrics == pytest.approx(expected[1], abs=1e-12)


@pytest.mark.parametrize("case", [None, *CASES])
def test_score_group(case):
    g = score_group(
        GROUP, label="Paris", question="q", rubrics=RUBRICS, judge=RuleJudge(), settings=_settings(case)
    )
    _check(g.rewards, [r.rubric for r in g.results], CASES.get(case, DEFAULT))


def test_every_case_differs_from_the_default():
    for case, expected in CASES.items():
        assert expected != DEFAULT, case


@pytest.mark.parametrize("case", list(CASES))
def test_reward_score_cli_set(tmp_path, case):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    rows = [
        {"id": str(i), "group_id": "g", "response": r, "label": "Paris", "question": "q", "rubrics": RUBRICS}
        for i, r in enumerate(GROUP)
    ]
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["reward", "score", "--input", str(inp), "--out", str(out), "--set", case]) == 0
    got = [json.loads(line) for line in out.read_text().splitlines()]
    _check([r["reward"] for r in got], [r["rubric"] for r in got], CASES[case])


@pytest.fixture()
def serve_app(monkeypatch):
    """``serve-reward ARGS`` up to the point where uvicorn would start; returns (app, run kwargs)."""
    import uvicorn

    captured: list = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: captured.append((app, kw)))

    def build(*args: str):
        assert main(["serve-reward", *args]) == 0
        return captured[-1]

    return build


@pytest.mark.parametrize("case", list(CASES))
def test_serve_reward_set_reaches_evaluate_group(serve_app, case):
    app, _ = serve_app("--set", case)
    with running(app) as url:
        body = {"responses": GROUP, "label": "Paris", "question": "q", "rubrics": RUBRICS}
        r = httpx.post(f"{url}/evaluate_group", json=body, timeout=30)
        assert r.status_code == 200, r.text
        _check(r.json()["rewards"], [x["rubric"] for x in r.json()["results"]], CASES[case])


def test_request_fields_override_server_settings(serve_app):
    app, _ = serve_app("--set", "mode=mix", "--set", "eta=0.5")
    with running(app) as url:
        body = {"responses": GROUP, "label": "Paris", "question": "q", "rubrics": RUBRICS}
        r = httpx.post(
            f"{url}/evaluate_group", json={**body, "mode": "positive-only", "eta": 0.3}, timeout=30
        )
        _check(r.json()["rewards"], [x["rubric"] for x in r.json()["results"]], DEFAULT)


@pytest.mark.parametrize(
    "setting, expected",
    [
        # content "Paris, alphabet", reasoning "beta"; rubrics alpha, beta; mix with M = 1
        (None, {"outcome_reward": 1.0, "rubric_reward": 0.5, "reward": 0.85}),
        ("eta=0.5", {"outcome_reward": 1.0, "rubric_reward": 0.5, "reward": 0.75}),
        ("use_reasoning=true", {"outcome_reward": 1.0, "rubric_reward": 1.0, "reward": 1.0}),
        ("use_content=false", {"outcome_reward": 1.0, "rubric_reward": 0.0, "reward": 0.7}),
        ("word_boundary=true", {"outcome_reward": 1.0, "rubric_reward": 0.0, "reward": 0.7}),
    ],
)
def test_serve_reward_set_reaches_evaluate(serve_app, setting, expected):
    app, _ = serve_app(*(["--set", setting] if setting else []))
    body = _evaluate_body("Paris, alphabet", "beta", rubrics=("alpha", "beta"))
    for key in ("rubric_reward_ratio", "rubric_use_content", "rubric_use_reasoning_content"):
        del body["extra_reward_info"][key]  # left to the server's settings
    with running(app) as url:
        r = httpx.post(f"{url}/evaluate", json=body, timeout=30)
        assert r.status_code == 200 and r.json() == pytest.approx(expected)


def test_serve_reward_server_fields(serve_app, monkeypatch):
    monkeypatch.setenv("REWARD_SETTINGS_KEY", "k")
    app, kw = serve_app(
        "--host", "127.0.0.2", "--port", "8123", "--auth-key-env", "REWARD_SETTINGS_KEY",
        "--max-body-mb", "2", "--max-concurrency", "3", "--offload-mb", "0.5",
    )  # fmt: skip
    assert (kw["host"], kw["port"]) == ("127.0.0.2", 8123)
    assert app.api_key == b"k" and app.limit == 2 * 1024 * 1024
    state = app.app.state.reward
    assert state["max_concurrency"] == 3 and state["offload_bytes"] == 512 * 1024


def test_judge_fields_reach_the_judge():
    from longtracerl.config import load_config
    from longtracerl.rewards.cli import _judge_from_config
    from longtracerl.rewards.config import RewardConfig

    cfg = load_config(
        RewardConfig,
        overrides=[
            "judge=llm", "model=grader", "base_url=http://127.0.0.1:9001/v1,http://127.0.0.1:9002/v1",
            "judge_timeout_s=7", "judge_budget_s=11", "judge_concurrency=96",
        ],
    )  # fmt: skip
    judge = _judge_from_config(cfg)
    model_cfg = judge.chat_model.cfg
    assert model_cfg.endpoints() == ["http://127.0.0.1:9001/v1", "http://127.0.0.1:9002/v1"]
    assert (model_cfg.timeout_s, model_cfg.concurrency, model_cfg.model) == (7, 96, "grader")
    assert judge.max_total_s == 11 and judge.max_concurrency == 96
    assert RewardConfig().judge_concurrency >= 64  # keeps up with a 64-connection trainer by default


def test_score_one_takes_word_boundary_and_settings():
    kw = {"label": "Paris", "question": "q", "rubrics": RUBRICS, "judge": RuleJudge()}
    assert score_one(GROUP[0], **kw).rubric == pytest.approx(T)
    assert score_one(GROUP[0], word_boundary=True, **kw).rubric == pytest.approx(S)
    assert score_one(GROUP[0], settings=RewardSettings(word_boundary=True), **kw).rubric == pytest.approx(S)
    # no group: M = 1 whatever group_normalise says
    assert score_one(GROUP[0], **kw).reward == pytest.approx(0.7 + 0.3 * T)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="mode"):
        RewardSettings(mode="nope")
    with pytest.raises(ValueError, match="eta"):
        RewardSettings(eta=2)
    with pytest.raises(TypeError, match="Valid"):
        RewardSettings().replace(etaa=0.1)
    assert main(["serve-reward", "--set", "mode=nope"]) == 2
