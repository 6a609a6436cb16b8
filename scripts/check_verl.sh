#!/usr/bin/env bash
# Check the verl adapter against verl's OWN reward-loading code, in a separate virtual
# environment (verl 0.9.1 pins transformers<5.11, which cannot share an environment with trl 1.16).
#
#   bash scripts/check_verl.sh            # venv in /tmp/verl-venv (reused when present)
#   VERL_VENV=/path bash scripts/check_verl.sh
#
# What it installs: verl==0.9.1 without its dependency list (the full list pulls wandb,
# tensorboard, vllm-era extras that reward loading does not touch), then only what importing
# verl's protocol, reward loader and reward managers needs: torch==2.13.0 (CPU, pinned),
# ray, tensordict, omegaconf, hydra-core, codetiming, transformers<5.11, pandas, pyarrow; then
# this package. The check itself is scripts/verl_check.py (a Parquet row -> verl's loader ->
# our compute_score / compute_score_batch).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VERL_VENV:-/tmp/verl-venv}"
VERL_VERSION="0.9.1"

if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"

if ! "$PY" -c "import verl, sys; sys.exit(0 if verl.__version__ == '$VERL_VERSION' else 1)" 2>/dev/null; then
  "$PY" -m pip install -q --upgrade pip
  "$PY" -m pip install -q "torch==2.13.0"
  "$PY" -m pip install -q --no-deps "verl==$VERL_VERSION"
  "$PY" -m pip install -q \
    "transformers>=5.5.3,<5.11,!=5.6.0" \
    "tensordict>=0.8.0,<=0.10.0,!=0.9.0" \
    "numpy>=2.0.0" "pyarrow>=19.0.0" pandas \
    omegaconf hydra-core codetiming dill packaging aiohttp \
    "ray>=2.41.0"
fi
# This package (its own light dependencies only: no trl, no extras).
"$PY" -m pip install -q --no-build-isolation -e "$ROOT" 2>/dev/null || "$PY" -m pip install -q -e "$ROOT"

export RAY_AUTH_MODE=disabled
export VERL_USE_EXTERNAL_PLUGINS=none
"$PY" "$ROOT/scripts/verl_check.py"
