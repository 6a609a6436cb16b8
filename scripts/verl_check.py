"""Run verl's OWN reward-loading code on our adapter (called by scripts/check_verl.sh).

1. Write a tiny verl-style Parquet file (2 prompts: data_source, prompt, ability,
   reward_model.ground_truth, extra_info with index/question/rubrics) and read it back.
2. Build a DataProto the way verl's trainer does after rollout: each prompt repeated n=4 times
   (interleaved), token tensors from a real tokenizer, non-tensor columns from the Parquet rows.
3. verl 0.9.1 trainer path: ``load_reward_manager`` (config from verl's own reward.yaml with
   ``custom_reward_function.path=pkg://longtracerl.rewards.integrations.verl``) -> the ``naive``
   reward-loop manager -> ``run_single`` per sample -> our ``compute_score``.
4. Legacy prime manager (positional calls in a process pool) with ``compute_score_scalar``.
5. Legacy batch path: ``get_custom_reward_fn`` with name ``compute_score_batch`` ->
   ``verl.workers.reward_manager.BatchRewardManager`` -> our ``compute_score_batch`` with the group
   step; rewards read back from the token-level reward tensor.
Exit code 0 only when every check passes.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import verl
from omegaconf import OmegaConf
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast
from verl import DataProto
from verl.trainer.ppo.reward import get_custom_reward_fn, load_reward_manager
from verl.workers.reward_manager import BatchRewardManager, PrimeRewardManager

from longtracerl.rewards.combine import combine_group

N = 4
ETA = 0.3
ROWS = [
    {
        "data_source": "longqa",
        "prompt": [{"role": "user", "content": "Documents: ... Which city hosts the tower?"}],
        "ability": "long-context-qa",
        "reward_model": {"style": "rule", "ground_truth": "Paris"},
        "extra_info": {
            "index": 0,
            "split": "train",
            "question": "Which city hosts the tower?",
            "rubrics": ["Eiffel Tower", "France", "Seine"],
        },
    },
    {
        "data_source": "longqa",
        "prompt": [{"role": "user", "content": "Documents: ... What year did it open?"}],
        "ability": "long-context-qa",
        "reward_model": {"style": "rule", "ground_truth": "1889"},
        "extra_info": {
            "index": 1,
            "split": "train",
            "question": "What year did it open?",
            "rubrics": ["Eiffel Tower", "World's Fair"],
        },
    },
]
# 4 responses per prompt, as a Qwen3-thinking policy would write them (reasoning, </think>, answer)
RESPONSES = [
    [
        "The tower is the Eiffel Tower.\n</think>\n\nParis, France, on the Seine.",
        "Thinking.\n</think>\n\nParis.",
        "Hmm.\n</think>\n\nLyon, France.",
        "no closing tag, cut off in the reasoning about the Eiffel Tower",
    ],
    [
        "It opened for the World's Fair.\n</think>\n\n1889 (Eiffel Tower, World's Fair).",
        "Opened.\n</think>\n\n1889",
        "Guess.\n</think>\n\n1925, Eiffel Tower",
        "Guess.\n</think>\n\n1950",
    ],
]


def tokenizer() -> PreTrainedTokenizerFast:
    text = [t for group in RESPONSES for t in group] + [r["prompt"][0]["content"] for r in ROWS]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<unk>", "<|pad|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(text * 3, trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<|pad|>", eos_token="<|im_end|>"
    )
    hf.add_tokens(["</think>"])
    return hf


def batch(rows: list[dict], tok: PreTrainedTokenizerFast) -> DataProto:
    prompts, responses, infos = [], [], []
    for row, group in zip(rows, RESPONSES, strict=True):
        for text in group:  # verl repeats each prompt n times, interleaved
            prompts.append(tok.encode(row["prompt"][0]["content"]))
            responses.append(tok.encode(text) + [tok.eos_token_id])
            infos.append(row)
    p_len = max(map(len, prompts))
    r_len = max(map(len, responses))
    pad = tok.pad_token_id
    p = torch.tensor([[pad] * (p_len - len(x)) + x for x in prompts])
    r = torch.tensor([x + [pad] * (r_len - len(x)) for x in responses])
    mask = torch.tensor(
        [
            [0] * (p_len - len(a)) + [1] * len(a) + [1] * len(b) + [0] * (r_len - len(b))
            for a, b in zip(prompts, responses, strict=True)
        ]
    )
    return DataProto.from_dict(
        tensors={"prompts": p, "responses": r, "attention_mask": mask, "input_ids": torch.cat([p, r], 1)},
        non_tensors={
            "data_source": np.array([x["data_source"] for x in infos], dtype=object),
            "reward_model": np.array([dict(x["reward_model"]) for x in infos], dtype=object),
            "extra_info": np.array([dict(x["extra_info"]) for x in infos], dtype=object),
            "uid": np.array([f"uid-{x['extra_info']['index']}" for x in infos], dtype=object),
        },
    )


def reward_config(name: str):
    yaml = os.path.join(os.path.dirname(verl.__file__), "trainer", "config", "reward", "reward.yaml")
    reward = OmegaConf.load(yaml)  # verl's own defaults (reward manager "naive", source "register")
    reward.custom_reward_function.path = "pkg://longtracerl.rewards.integrations.verl"
    reward.custom_reward_function.name = name
    reward.custom_reward_function.reward_kwargs = {"eta": ETA, "judge": "rule"}
    return OmegaConf.create({"reward": reward})


def main() -> int:
    failures = []
    print(f"verl {verl.__version__}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rows.parquet")
        pq.write_table(pa.Table.from_pylist(ROWS), path)
        rows = pq.read_table(path).to_pylist()
    print(f"parquet: {len(rows)} rows, extra_info keys {sorted(rows[0]['extra_info'])}")
    tok = tokenizer()
    data = batch(rows, tok)

    # --- 0.9.1 trainer path: load_reward_manager -> naive reward-loop manager -> compute_score
    manager = load_reward_manager(reward_config("compute_score"), tok)
    print(f"load_reward_manager -> {type(manager).__module__}.{type(manager).__name__}")
    outs = [manager.loop.run_until_complete(manager.run_single(data[i : i + 1])) for i in range(len(data))]
    per_sample = [o["reward_score"] for o in outs]
    keys = {tuple(sorted(o["reward_extra_info"])) for o in outs}
    # what verl's RewardLoopManager.compute_rm_score does with the extras: one numpy column per key
    columns = {k: np.array([o["reward_extra_info"][k] for o in outs]) for k in outs[0]["reward_extra_info"]}
    print("per-sample scores (naive manager):", [round(s, 4) for s in per_sample])
    print("extra columns:", {k: v.dtype.str for k, v in columns.items()})
    if len(keys) != 1:
        failures.append(f"reward_extra_info keys differ between samples: {keys}")
    if any(v.dtype == object for v in columns.values()):
        failures.append("a reward_extra_info column is not numeric")
    outcomes = [o["reward_extra_info"]["outcome"] for o in outs]
    rubrics = [o["reward_extra_info"]["rubric"] for o in outs]
    gated = [o["reward_extra_info"]["gated"] for o in outs]
    expected_single = [
        0.0 if g or o == 0 else (1 - ETA) + ETA * r for o, r, g in zip(outcomes, rubrics, gated, strict=True)
    ]
    if not np.allclose(per_sample, expected_single):
        failures.append(f"naive manager scores {per_sample} != expected {expected_single}")
    if outcomes != [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]:
        failures.append(f"unexpected outcomes {outcomes}")
    if gated != [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]:
        failures.append(f"unexpected gating {gated}")

    # --- legacy batch manager: whole batch -> compute_score_batch -> group step
    fn = get_custom_reward_fn(reward_config("compute_score_batch"))
    batch_manager = BatchRewardManager(tokenizer=tok, num_examine=0, compute_score=fn)
    out = batch_manager(data, return_dict=True)
    tensor = out["reward_tensor"]
    p_len = data.batch["prompts"].shape[-1]
    lengths = data.batch["attention_mask"][:, p_len:].sum(-1)
    grouped = [float(tensor[i, int(lengths[i]) - 1]) for i in range(len(data))]
    expected_group = []
    for g in range(2):
        sl = slice(g * N, (g + 1) * N)
        o = [0.0 if x else y for x, y in zip(gated[sl], outcomes[sl], strict=True)]
        expected_group += combine_group(o, rubrics[sl], mode="positive-only", eta=ETA)
    print("group scores (BatchRewardManager):", [round(s, 4) for s in grouped])
    print("expected (combine_group per index):", [round(s, 4) for s in expected_group])
    if not np.allclose(grouped, expected_group, atol=1e-6):
        failures.append(f"batch manager scores {grouped} != expected {expected_group}")
    if sorted(out["reward_extra_info"]) != sorted(outs[0]["reward_extra_info"]):
        failures.append("batch manager extra keys differ from the per-sample ones")

    # --- legacy prime manager: positional calls in a process pool, floats only
    prime = PrimeRewardManager(
        tokenizer=tok,
        num_examine=0,
        compute_score=get_custom_reward_fn(reward_config("compute_score_scalar")),
    )
    tensor = prime(data)
    primed = [float(tensor[i, int(lengths[i]) - 1]) for i in range(len(data))]
    print("per-sample scores (PrimeRewardManager):", [round(s, 4) for s in primed])
    if not np.allclose(primed, per_sample):
        failures.append(f"prime manager scores {primed} != naive manager scores {per_sample}")

    for f in failures:
        print("FAIL:", f)
    print("verl check:", "OK" if not failures else f"{len(failures)} failure(s)")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
