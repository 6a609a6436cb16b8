"""``python -m longtracerl.llm.check SPEC``: does the endpoint of a chat-model spec answer?

Exit 0 when its health call (``GET /models``, a few seconds at most) gets an answer, 1 with one
line naming the URL when it does not, 2 when the spec itself is wrong. Launch scripts run it
before a long job (``longtracerl export verl|slime``), so a missing judge fails at once instead of
scoring every sample 0.

    python -m longtracerl.llm.check openai:judge@http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from longtracerl.config import ConfigError
from longtracerl.llm.base import LLMError, check_endpoint


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: python -m longtracerl.llm.check openai:MODEL@http://HOST:PORT/v1", file=sys.stderr)
        return 2
    from longtracerl.llm.openai import make_chat_model

    try:
        check_endpoint(make_chat_model(args[0]))
    except ConfigError as err:
        print(f"llm check: {err}", file=sys.stderr)
        return 2
    except LLMError as err:
        print(f"llm check: {err}", file=sys.stderr)
        return 1
    print(f"llm check: {args[0]} answers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
