"""Compose verl's own ppo_trainer config with the overrides of a `longtracerl export verl` bundle.

Run inside an environment with verl 0.9.1 (e.g. the one `scripts/check_verl.sh` makes):

    /tmp/verl-venv/bin/python scripts/check_verl_export.py BUNDLE_DIR

First the checks that need no verl (`longtracerl.train.export.check_bundle`: the data files are
in the bundle, no file names a path of the machine that exported it, the reward hooks import by
module name, the launch scripts parse), so a bundle copied to another folder or machine is
checked where it will run. Then Hydra composes `verl/trainer/config/ppo_trainer.yaml` with every
`key=value` of BUNDLE/config.yaml (the same list launch.sh passes; data files resolved against
the bundle as launch.sh does with $DATA_ROOT), so an option name verl does not know fails
here the way it would on the cluster. Then verl's dataclass for the algorithm section
(`AlgoConfig`, incl. `RolloutCorrectionConfig`) is built from the result, the reward function is
loaded with verl's own `get_custom_reward_fn`, called on the first Parquet row, and the recipe
values are printed as verl resolved them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml


def main(bundle: str) -> int:
    import pandas as pd
    import verl
    from hydra import compose, initialize_config_dir
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.utils.config import omega_conf_to_dataclass

    from longtracerl.train.export import check_bundle

    b = Path(bundle).resolve()
    problems = check_bundle(b)
    for p in problems:
        print(f"bundle: {p}")
    if problems:
        return 1
    print(f"bundle {b}: portable (data in the bundle, reward hooks by module name)")
    over = yaml.safe_load((b / "config.yaml").read_text())
    for key in ("data.train_files", "data.val_files"):
        over[key] = str(b / over[key])
    cfg_dir = Path(verl.__file__).parent / "trainer" / "config"

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ",".join(str(x) for x in v) + "]"
        if isinstance(v, str) and v.replace(".", "").replace("_", "").isdigit():
            return f"'{v}'"
        return str(v)

    args = [f"{k}={value(v)}" for k, v in over.items()]
    with initialize_config_dir(config_dir=str(cfg_dir), version_base=None):
        cfg = compose(config_name="ppo_trainer", overrides=args)
    print(f"verl {verl.__version__}: composed ppo_trainer with {len(args)} overrides")
    algo = omega_conf_to_dataclass(cfg.algorithm)
    rc = algo.rollout_correction
    if isinstance(rc, dict):
        from verl.trainer.config.algorithm import RolloutCorrectionConfig

        rc = RolloutCorrectionConfig(**{k: v for k, v in rc.items() if not k.startswith("_")})
    print(
        "algorithm:",
        type(algo).__name__,
        "adv_estimator =",
        algo.adv_estimator,
        "| rollout_correction:",
        type(rc).__name__,
        rc.rollout_is,
        rc.rollout_is_threshold,
    )
    a = cfg.actor_rollout_ref.actor
    print(
        "actor: clip",
        a.clip_ratio_low,
        a.clip_ratio_high,
        "| loss_agg_mode",
        a.loss_agg_mode,
        "| use_kl_loss",
        a.use_kl_loss,
        "| entropy_coeff",
        a.entropy_coeff,
        "| lr",
        a.optim.lr,
        "| wd",
        a.optim.weight_decay,
        "| betas",
        list(a.optim.betas),
        "| clip_grad",
        a.optim.clip_grad,
        "| mini_batch",
        a.ppo_mini_batch_size,
    )
    r = cfg.actor_rollout_ref.rollout
    print(
        "rollout: n",
        r.n,
        "| temperature",
        r.temperature,
        "| top_p",
        r.top_p,
        "| max_model_len",
        r.max_model_len,
        "| name",
        r.name,
    )
    print(
        "data: train_batch_size",
        cfg.data.train_batch_size,
        "| prompt/response",
        cfg.data.max_prompt_length,
        cfg.data.max_response_length,
    )
    fn = get_custom_reward_fn(cfg)  # reads cfg.reward.custom_reward_function (path, name, reward_kwargs)
    row = pd.read_parquet(b / "train.parquet").iloc[0]
    extra = {k: (list(v) if hasattr(v, "tolist") else v) for k, v in dict(row["extra_info"]).items()}
    gt = row["reward_model"]["ground_truth"]
    res = fn(
        data_source=row["data_source"],
        solution_str=f"thinking\n</think>\n\n{gt}",
        ground_truth=gt,
        extra_info=extra,
    )
    print("reward fn via get_custom_reward_fn:", {k: round(v, 3) for k, v in res.items()})
    assert res["outcome"] == 1.0
    print("verl export check: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
