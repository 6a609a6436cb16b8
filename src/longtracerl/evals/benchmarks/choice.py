"""Answer-letter extraction for the multiple-choice benchmarks (LongBench v2, LongReason).

LongBench v2's reference scripts remove ``*`` and look for ``The correct answer is (X)``, then
``The correct answer is X`` (first match, letters A-D). :func:`extract_choice` applies exactly that
first; with ``fallback=True`` (LongReason, whose prompts ask for other wordings) it then takes the
last ``answer is (X)`` / ``Answer: X`` / ``\\boxed{X}`` in the text.

    >>> extract_choice("Thinking... **The correct answer is (B)**")
    'B'
    >>> extract_choice("The correct answer is C.")
    'C'
    >>> extract_choice("I pick (D).") is None
    True
    >>> extract_choice("Answer: (E)", letters="A-J", fallback=True)
    'E'
    >>> extract_choice("the answer is a cat", letters="A-J", fallback=True) is None
    True
"""

from __future__ import annotations

import re


def extract_choice(text: str, *, letters: str = "A-D", fallback: bool = False) -> str | None:
    clean = text.replace("*", "")
    for pattern in (rf"The correct answer is \(([{letters}])\)", rf"The correct answer is ([{letters}])"):
        m = re.search(pattern, clean)
        if m:
            return m.group(1)
    if not fallback:
        return None
    loose = re.compile(
        rf"(?:(?i:answer\s*(?:is|:)\s*(?:option\s*)?)\(?([{letters}])\)?(?![A-Za-z])"
        rf"|\\boxed\{{\(?([{letters}])\)?\}})"
    )
    found = [a or b for a, b in loose.findall(clean)]
    return found[-1] if found else None
