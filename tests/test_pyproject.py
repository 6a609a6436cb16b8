"""pyproject.toml uses the metadata forms current setuptools reads without warnings (issue 14:
``project.license`` as a table is deprecated and made setuptools warn three times at set-up)."""

from __future__ import annotations

import tomllib
from pathlib import Path


def test_license_is_an_spdx_expression_without_license_classifiers():
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    project = tomllib.loads(text)["project"]
    assert isinstance(project["license"], str) and project["license"].strip()  # PEP 639, not {text = ...}
    # PEP 639: a license expression excludes "License ::" classifiers
    assert not [c for c in project.get("classifiers", []) if c.startswith("License ::")]
