"""Helper modules the tests import as ``tests.helpers.<name>``: small corpora written in the real
input formats, fake LLM servers, executor item tasks. The repository root is on ``sys.path`` in
every pytest run (``pythonpath`` in pyproject's pytest config), so worker processes unpickle
``tests.helpers.executor_tasks`` objects under the same name. See docs/contributing.md."""
