"""The pack's data contracts: tool schemas, tasks with golden solutions, the manifest."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT_VERSION = 1
Structure = Literal[
    "single", "parallel", "multi_hop", "parallel_multi_hop", "aggregation", "conditional", "state_changing", "no_tool"
]
STRUCTURES: tuple[str, ...] = Structure.__args__  # type: ignore[attr-defined]
Split = Literal["train", "test"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FunctionDef(Strict):
    name: str = Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$")
    description: str
    parameters: dict[str, Any]


class ToolSchema(Strict):
    """OpenAI function-calling format."""

    type: Literal["function"] = "function"
    function: FunctionDef

    @property
    def name(self) -> str:
        return self.function.name


class ToolCall(Strict):
    """A call as made: by the agent, or by a golden solution's replay."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class GoldenCall(Strict):
    """A call of the golden solution: the arguments replayed, and the acceptable values per argument
    in the Berkeley Function Calling Leaderboard's form ("" in a list marks an argument as optional)."""

    name: str
    arguments: dict[str, Any]
    acceptable: dict[str, list[Any]]

    def as_call(self) -> ToolCall:
        return ToolCall(name=self.name, arguments=self.arguments)


class SubAnswer(Strict):
    """A value that the task's golden call number `call` (a call of `tool`) surfaces in its output."""

    tool: str
    call: int = Field(ge=0)
    value: Any


class Step(Strict):
    id: str
    question: str
    depends_on: list[str] = Field(default_factory=list)
    calls: list[GoldenCall]
    sub_answers: list[SubAnswer]


AnswerType = Literal["number", "entity", "list"]


class Answer(Strict):
    type: AnswerType
    value: Any
    tolerance: float = Field(0.01, ge=0)


class StateChange(Strict):
    table: str
    key: str
    field: str
    value: Any


class ExpectedState(Strict):
    digest: str
    changes: list[StateChange]


class Task(Strict):
    id: str
    split: Split
    structure: Structure
    level: int = Field(ge=1, le=4)
    domains: list[str]
    query: str
    tools: list[str]
    steps: list[Step]
    answer: Answer
    expected_state: ExpectedState | None = None

    @property
    def sub_answers(self) -> list[SubAnswer]:
        return [sub for step in self.steps for sub in step.sub_answers]

    @property
    def golden_calls(self) -> list[GoldenCall]:
        return [call for step in self.steps for call in step.calls]


class DroppedTask(Strict):
    id: str
    structure: Structure
    level: int
    reason: str


class Manifest(Strict):
    format_version: int = FORMAT_VERSION
    generator_version: str
    seed: int
    config: dict[str, Any]
    counts: dict[str, Any]
    files: dict[str, str]
