"""The generator's working form of a task, between stage 1 and the pack. Calls carry a spec and
arguments by role; stage 2 onwards give them documented names."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from envgen.models import Answer, Split, Structure
from envgen.tools import ToolDoc, ToolSpec


class DraftCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: ToolSpec
    args: dict[str, Any]
    surfaces: list[Any]
    doc: ToolDoc | None = None


class DraftStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    question: str
    depends_on: list[str] = Field(default_factory=list)
    calls: list[DraftCall]


class Draft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    index: int
    split: Split
    structure: Structure
    level: int
    domains: list[str]
    query: str
    steps: list[DraftStep]
    answer: Answer
    distractors: list[ToolDoc] = Field(default_factory=list)

    def calls(self) -> list[DraftCall]:
        return [call for step in self.steps for call in step.calls]
