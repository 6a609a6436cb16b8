"""The search boundary: ``Retriever.search(query, k) -> list[Hit]``."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict


class Hit(BaseModel):
    """One ranked search result."""

    model_config = ConfigDict(extra="forbid")
    page_id: str
    title: str
    snippet: str
    score: float
    rank: int


@runtime_checkable
class Retriever(Protocol):
    def search(self, query: str, k: int = 10) -> list[Hit]: ...
