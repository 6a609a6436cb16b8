"""TRL adapter: contract tests (called exactly as trl 1.16 GRPOTrainer calls reward functions) and
one real GRPOTrainer run on CPU with a tiny random model and a tokenizer trained on the fly."""

from __future__ import annotations

import math

import pytest

from longtracerl.rewards.integrations.trl import make_trl_reward
from longtracerl.rewards.judge import JudgeResult, RuleJudge

RUBRICS = ["alpha", "beta", "gamma", "delta", "epsilon"]


def completion(correct: bool, hits: int, stop: str = "") -> str:
    return f"reasoning\n</think>\n\n{'Paris' if correct else 'Lyon'}. " + " ".join(RUBRICS[:hits]) + stop


def worked_example() -> list[str]:
    # docs/method.md#worked-example: o = [1,1,1,0,0,1,0,0], r = [.6,.4,.6,.8,0,.2,0,0] (5 rubrics)
    return [
        completion(bool(o), h)
        for o, h in zip([1, 1, 1, 0, 0, 1, 0, 0], [3, 2, 3, 4, 0, 1, 0, 0], strict=True)
    ]


class SpyJudge:
    """A RuleJudge that records what it was asked."""

    name = "spy"

    def __init__(self):
        self.calls: list[tuple[str, str, str]] = []
        self.inner = RuleJudge()

    def judge(self, question, answer, response, *, aliases=()) -> JudgeResult:
        self.calls.append((question, answer, response))
        return self.inner.judge(question, answer, response, aliases=aliases)


def trl_kwargs(n: int, *, label="Paris", question="Capital of France?", rubrics=RUBRICS):
    """The extra kwargs trl 1.16 passes besides prompts/completions/completion_ids."""
    logged: dict[str, list] = {"metrics": [], "extra": []}
    return (
        {
            "label": [label] * n,
            "question": [question] * n,
            "rubrics": [list(rubrics)] * n,
            "trainer_state": object(),
            "log_metric": lambda name, value: logged["metrics"].append((name, value)),
            "log_extra": lambda column, values: logged["extra"].append((column, values)),
        },
        logged,
    )


def test_worked_example_through_the_callable_and_logging():
    f = make_trl_reward("rule", num_generations=8)
    kw, logged = trl_kwargs(8)
    out = f(prompts=["p"] * 8, completions=worked_example(), completion_ids=[[1, 2]] * 8, **kw)
    assert out == [0.925, 0.85, 0.925, 0.0, 0.0, 0.775, 0.0, 0.0]
    assert all(isinstance(x, float) for x in out)
    metrics = dict(logged["metrics"])
    assert metrics["longtracerl/outcome_mean"] == pytest.approx(0.5)
    assert metrics["longtracerl/rubric_mean"] == pytest.approx((0.6 + 0.4 + 0.6 + 0.8 + 0.2) / 8)
    assert metrics["longtracerl/gated_share"] == 0.0
    # reward-hacking signal: wrong answers' raw rubric [.8, 0, 0, 0] -> mean .2, one of four hit any
    assert metrics["longtracerl/rubric_on_wrong"] == pytest.approx(0.2)
    assert metrics["longtracerl/rubric_hit_share_wrong"] == pytest.approx(0.25)
    extra = dict(logged["extra"])
    assert extra["longtracerl/outcome"] == [1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    assert extra["longtracerl/status"] == ["ok"] * 8
    assert f.__name__ == "longtracerl"


def test_groups_are_consecutive_num_generations():
    # two prompts x 4: the group max is taken within each group only
    judge = SpyJudge()
    f = make_trl_reward(judge, num_generations=4)
    comps = [completion(True, 1), completion(True, 2), completion(False, 0), completion(False, 0)] * 2
    comps[4] = completion(True, 4)
    n = len(comps)
    kw, _ = trl_kwargs(n)
    kw["question"] = ["q1"] * 4 + ["q2"] * 4
    out = f(prompts=["a"] * 4 + ["b"] * 4, completions=comps, **kw)
    # group 1: r = [.2, .4, 0, 0] -> M = .4 ; group 2: r = [.8, .4, 0, 0] -> M = .8
    assert out == pytest.approx([0.7 + 0.3 * 0.5, 1.0, 0.0, 0.0, 1.0, 0.7 + 0.3 * 0.5, 0.0, 0.0])
    assert [c[0] for c in judge.calls] == ["q1"] * 4 + ["q2"] * 4


def test_grouping_without_num_generations_uses_prompt_runs():
    f = make_trl_reward("rule")
    comps = [completion(True, 1), completion(True, 2), completion(True, 4)]
    kw, _ = trl_kwargs(3)
    out = f(prompts=["a", "a", "b"], completions=comps, **kw)
    assert out == pytest.approx([0.85, 1.0, 1.0])


def test_group_errors_are_clear():
    f = make_trl_reward("rule", num_generations=4)
    kw, _ = trl_kwargs(6)
    with pytest.raises(ValueError, match="not a multiple of num_generations=4"):
        f(prompts=["a"] * 6, completions=[completion(True, 1)] * 6, **kw)
    kw, _ = trl_kwargs(4)
    with pytest.raises(ValueError, match="should share one prompt"):
        f(prompts=["a", "a", "b", "b"], completions=[completion(True, 1)] * 4, **kw)
    kw, _ = trl_kwargs(4)
    del kw["label"]
    with pytest.raises(KeyError, match="no 'label' column"):
        f(prompts=["a"] * 4, completions=[completion(True, 1)] * 4, **kw)


def test_conversational_completions():
    f = make_trl_reward("rule", num_generations=2)
    comps = [
        [{"role": "assistant", "content": "reasoning\n</think>\n\nParis. alpha"}],
        # parsed by a response schema: reasoning split off into its own field
        [{"role": "assistant", "reasoning_content": "thinking", "content": "Paris. alpha beta"}],
    ]
    prompts = [[{"role": "user", "content": "q"}]] * 2
    kw, _ = trl_kwargs(2)
    assert f(prompts=prompts, completions=comps, **kw) == pytest.approx([0.85, 1.0])


def test_truncation_from_max_completion_length_without_tokenizer():
    f = make_trl_reward("rule", num_generations=2, max_completion_length=3)
    kw, _ = trl_kwargs(2)
    out = f(
        prompts=["p", "p"], completions=[completion(True, 2)] * 2, completion_ids=[[5, 6, 7], [5, 6]], **kw
    )
    assert out == [0.0, 1.0]  # the first hit the length limit: truncated, gated


def test_tokenizer_redecodes_ids_and_sees_stop_tokens(tiny_tokenizer):
    tok = tiny_tokenizer
    f = make_trl_reward("rule", num_generations=3, tokenizer=tok, metrics_sink=lambda m, r: seen.extend(r))
    seen: list = []
    right = tok.encode(completion(True, 2)) + [tok.eos_token_id]
    wrong_stop = tok.encode(completion(True, 2) + "<|endoftext|>")
    cut = tok.encode(completion(True, 2))  # no EOS at the end: hit the length limit
    texts = [tok.decode(ids, skip_special_tokens=True) for ids in (right, wrong_stop, cut)]
    kw, _ = trl_kwargs(3)
    out = f(prompts=["p"] * 3, completions=texts, completion_ids=[right, wrong_stop, cut], **kw)
    assert out == [1.0, 0.0, 0.0]
    assert [r.status for r in seen] == ["ok", "ill_formed", "truncated"]
    assert "wrong_stop_token" in seen[1].gate_reasons


# --------------------------------------------------------------------------- a real GRPOTrainer step


@pytest.fixture(scope="module")
def tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [completion(c, h) for c in (True, False) for h in range(6)] + [
        "Question: which city hosts the tower? Answer briefly.",
        "Start with the river. Move to the city. Then the bridge.",
    ]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=200,
        special_tokens=["<unk>", "<|im_end|>", "<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus * 5, trainer)
    # Qwen3's layout: <|im_end|> ends a turn (EOS), <|endoftext|> is the pad token
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<|endoftext|>", eos_token="<|im_end|>"
    )
    hf.add_tokens(["</think>"])
    hf.padding_side = "left"
    return hf


def test_inside_a_real_grpo_trainer_step(tiny_tokenizer, tmp_path):
    import torch
    from datasets import Dataset
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    tok = tiny_tokenizer
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg)
    rows = [
        {
            "prompt": f"Question {i}: which city hosts the tower?",
            "label": "Paris",
            "question": f"q{i}",
            "rubrics": ["Eiffel Tower", "France"],
        }
        for i in range(4)
    ]
    judge = SpyJudge()
    sunk: list[tuple[dict, list]] = []
    inner = make_trl_reward(
        judge, num_generations=4, tokenizer=tok, metrics_sink=lambda m, r: sunk.append((m, r))
    )
    calls: list[dict] = []
    returned: list[list[float]] = []

    def longtracerl(**kwargs):  # records TRL's exact call, then hands it on unchanged
        calls.append(kwargs)
        out = inner(**kwargs)
        returned.append(out)
        return out

    args = GRPOConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        bf16=False,
        use_vllm=False,
        num_generations=4,
        max_completion_length=16,
        per_device_train_batch_size=8,  # 2 prompts x 4 completions per call
        gradient_accumulation_steps=1,
        max_steps=2,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        gradient_checkpointing=False,
        seed=0,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[longtracerl],
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tok,
    )
    trainer.train()

    assert len(calls) == 2
    for kw, out, (metrics, results) in zip(calls, returned, sunk, strict=True):
        assert {
            "prompts",
            "completions",
            "completion_ids",
            "label",
            "question",
            "rubrics",
            "trainer_state",
            "log_metric",
            "log_extra",
        } <= set(kw)
        assert len(kw["completions"]) == 8 and len(out) == 8
        # consecutive groups of num_generations share one prompt and one row
        for g in range(2):
            sl = slice(4 * g, 4 * g + 4)
            assert len(set(kw["prompts"][sl])) == 1 and len(set(kw["question"][sl])) == 1
        assert kw["rubrics"][0] == ["Eiffel Tower", "France"]
        # truncation is read from the ids exactly as TRL does: last id not EOS/pad
        for ids, r in zip(kw["completion_ids"], results, strict=True):
            truncated = ids[-1] not in (tok.eos_token_id, tok.pad_token_id)
            assert (r.status == "truncated") == truncated
            if r.status != "ok":
                assert r.reward == 0.0
        assert all(math.isfinite(x) for x in out)
        assert metrics["longtracerl/gated_share"] == sum(r.gated for r in results) / 8
    # only responses that passed the gate reached the judge, with the group's own question
    for q, a, _ in judge.calls:
        assert a == "Paris" and q.startswith("q")
    history = [h for h in trainer.state.log_history if "reward" in h]
    assert len(history) == 2
    for h, out in zip(history, returned, strict=True):
        assert h["rewards/longtracerl/mean"] == pytest.approx(sum(out) / len(out), abs=1e-6)
        for key in ("longtracerl/outcome_mean", "longtracerl/rubric_mean", "longtracerl/gated_share"):
            assert key in h
        assert 0.0 <= h["longtracerl/gated_share"] <= 1.0


def test_llm_judge_groups_scored_in_parallel(fake_llm_server):
    from longtracerl.llm.openai import make_chat_model
    from longtracerl.rewards.judge import LLMJudge
    from tests.helpers.llm_servers import FakeResponse

    def grade(body):
        text = body["messages"][-1]["content"]
        verdict = "yes" if "Paris." in text else "no"
        return FakeResponse.chat(f"extracted_final_answer: x\nreasoning: r\ncorrect: {verdict}")

    fake_llm_server.responder = grade
    judge = LLMJudge(
        make_chat_model(f"openai:judge@{fake_llm_server.base_url}", max_retries=0), backoff_s=0.01
    )
    f = make_trl_reward(judge, num_generations=2)
    comps = [completion(True, 1), completion(False, 2), completion(True, 3), "cut off"]
    kw, _ = trl_kwargs(4)
    out = f(prompts=["a", "a", "b", "b"], completions=comps, **kw)
    assert out == pytest.approx([0.7 + 0.3 * 0.5, 0.0, 1.0, 0.0])  # group a: r = [.2, .4], M = .4
    assert len(fake_llm_server.requests) == 3  # the gated completion never reaches the judge


def test_judge_failure_raises_instead_of_zero():
    from longtracerl.rewards.combine import JudgeFailure

    class Broken:
        name = "broken"

        def judge(self, question, answer, response, *, aliases=()):
            return JudgeResult(False, None, None, None, "grader returned HTTP 500", 3, "llm")

    f = make_trl_reward(Broken(), num_generations=8)
    kw, _ = trl_kwargs(8)
    with pytest.raises(JudgeFailure, match="HTTP 500"):
        f(prompts=["p"] * 8, completions=worked_example(), **kw)


def test_settings_reach_the_callable():
    kw, _ = trl_kwargs(8)
    args = {"prompts": ["p"] * 8, "completions": worked_example(), **kw}
    assert make_trl_reward("rule", num_generations=8)(**args)[:3] == pytest.approx([0.925, 0.85, 0.925])
    plain = make_trl_reward("rule", num_generations=8, settings={"group_normalise": False})(**args)
    assert plain[:3] == pytest.approx([0.88, 0.82, 0.88])
    mix = make_trl_reward("rule", num_generations=8, mode="mix", eta=0.5)(**args)
    assert mix[3] == pytest.approx(0.5)  # wrong answer, r = .8 = M -> r' = 1
