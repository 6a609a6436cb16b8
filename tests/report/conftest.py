"""Fixtures of the contexts/report tests (defined in tests/helpers/ctx_fixtures.py)."""

from tests.helpers.ctx_fixtures import _private_cache, run_dir, store, tok  # noqa: F401
