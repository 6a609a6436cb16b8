"""Fixtures of the contexts/report tests (defined in tests/ctx_fixtures.py)."""

from ctx_fixtures import _private_cache, run_dir, store, tok  # noqa: F401
