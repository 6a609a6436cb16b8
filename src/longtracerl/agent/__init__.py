"""The search-agent stage: questions -> trajectories (docs/method.md#search-agent-and-trajectories).

Public API:

- :func:`run_agent` (``cfg, corpus, run, **options) -> summary dict``): reads
  ``RUN/questions.jsonl``, writes ``RUN/trajectories.jsonl``, ``RUN/agent.summary.json`` and
  ``RUN/agent.rejected.jsonl``; resumable.
- :class:`AgentConfig`: the stage config (``longtracerl agent --set KEY=VALUE``).
- :class:`ToolBox`: search / open / cite / answer over a corpus, recording every call.
- Policies: :class:`SearchAgentPolicy` (default ``retrieval``: offline, non-LLM, works from the
  question text alone, ``policy="search-nonllm"``), :class:`RetrievalPolicy` (``clauses``: the
  earlier non-LLM agent for masked questions, ``policy="retrieval-nonllm"``) and
  :class:`LLMPolicy` (a chat model calling the tools natively or through JSON actions).
- :class:`AnswerChecker`: the correctness check run after an attempt (the only reader of labels).
"""

from longtracerl.agent.base import AttemptEnd, attempt_seed
from longtracerl.agent.config import AgentConfig
from longtracerl.agent.judge import AnswerChecker, rule_correct
from longtracerl.agent.llm_policy import LLMPolicy
from longtracerl.agent.retrieval import RetrievalPolicy
from longtracerl.agent.runner import POLICIES, run_agent, summarize
from longtracerl.agent.search_agent import SearchAgentPolicy
from longtracerl.agent.tools import ToolBox

__all__ = [
    "AgentConfig",
    "AnswerChecker",
    "AttemptEnd",
    "LLMPolicy",
    "POLICIES",
    "RetrievalPolicy",
    "SearchAgentPolicy",
    "ToolBox",
    "attempt_seed",
    "rule_correct",
    "run_agent",
    "summarize",
]
