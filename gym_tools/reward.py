"""The verifiable reward: computed from the pack alone, deterministic, bounded in [0, 1], explained.

Components (each in [0, 1]):
- precision: useful calls / calls made. A call is useful when its output surfaces a still-open
  sub-answer of the task for that tool (repeats surface nothing new). With no calls made it is 1 if
  the task needs none, else 0.
- completeness: (sub-answers surfaced + required state changes present) / (their total); 1 if none.
- answer: typed comparison of the final answer (see `gym_tools.answers.score_answer`).
- state: the final world equals the expected one (state-changing tasks) or the initial one (others,
  so unrequested side effects cost).

reward = (w_answer*answer + w_completeness*completeness + w_precision*precision + w_state*state) / sum(w),
defaults 0.4, 0.3, 0.2, 0.1. Per-turn rewards after the source method are also given:
a tool turn scores 2*solved/(calls+1); a final turn -0.5 if empty, -0.3 if it holds a malformed call,
answer/(1+unsolved) if the answer is right, 0.5 if every sub-answer was found but the answer is wrong, else 0.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from envgen.models import SubAnswer, Task, ToolCall, ToolSchema
from gym_tools.answers import Vocabulary, score_answer, surfaces
from gym_tools.matching import check_call, match_calls
from sandbox import CallResult


class RewardWeights(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    answer: float = Field(0.4, ge=0)
    completeness: float = Field(0.3, ge=0)
    precision: float = Field(0.2, ge=0)
    state: float = Field(0.1, ge=0)

    @model_validator(mode="after")
    def _positive(self) -> RewardWeights:
        if self.answer + self.completeness + self.precision + self.state <= 0:
            raise ValueError("reward weights must not all be zero")
        return self


class CallRecord(BaseModel):
    name: str
    arguments: dict[str, Any]
    status: str
    useful: bool
    surfaced: list[Any] = Field(default_factory=list)
    error: str | None = None


class RewardBreakdown(BaseModel):
    reward: float
    precision: float
    completeness: float
    answer: float
    state: float
    calls: int
    useful_calls: int
    invalid_calls: int
    sub_answers_found: int
    sub_answers_total: int
    state_changes_made: int
    state_changes_total: int
    matched_golden: list[int]
    missing_golden: list[int]
    unmatched_calls: list[int]
    records: list[CallRecord]


def changes_present(task: Task, final_state: dict[str, Any] | None) -> int:
    if task.expected_state is None or final_state is None:
        return 0
    return sum(
        1 for c in task.expected_state.changes if final_state.get(c.table, {}).get(c.key, {}).get(c.field, object()) == c.value
    )


class EpisodeScorer:
    """Feeds on the calls of an episode as they happen; `finish` gives the breakdown."""

    def __init__(self, task: Task, schemas: list[ToolSchema], vocabulary: Vocabulary, weights: RewardWeights | None = None) -> None:
        self.task = task
        self.schemas = schemas
        self.schema_by_name = {schema.name: schema for schema in schemas}
        self.vocabulary = vocabulary
        self.weights = weights or RewardWeights()
        self.open: list[SubAnswer] = list(task.sub_answers)
        self.records: list[CallRecord] = []

    def record_malformed(self, error: str) -> CallRecord:
        record = CallRecord(name="", arguments={}, status="malformed", useful=False, error=error)
        self.records.append(record)
        return record

    def record_call(self, call: ToolCall, result: CallResult) -> CallRecord:
        """A call claims the open sub-answers of at most one golden call: the one of its tool whose
        arguments it matches, else the one whose sub-answers its output surfaces most of."""
        surfaced: list[Any] = []
        if result.ok:
            best: tuple[bool, int, int] | None = None
            for position in sorted({sub.call for sub in self.open if sub.tool == call.name}):
                hits = [sub for sub in self.open if sub.call == position and surfaces(result.value, sub.value)]
                if hits:
                    golden = self.task.golden_calls[position]
                    agrees = check_call(self.schema_by_name.get(call.name), call, golden.name, golden.acceptable).valid
                    rank = (agrees, len(hits), -position)
                    if best is None or rank > best:
                        best = rank
            if best is not None:
                position = -best[2]
                for sub in [s for s in self.open if s.call == position and surfaces(result.value, s.value)]:
                    surfaced.append(sub.value)
                    self.open.remove(sub)
        record = CallRecord(name=call.name, arguments=call.arguments, status=result.status, useful=bool(surfaced), surfaced=surfaced, error=result.error)
        self.records.append(record)
        return record

    def turn_reward(self, records: list[CallRecord]) -> float:
        solved = sum(1 for r in records if r.useful)
        return 2 * solved / (len(records) + 1)

    def final_turn_reward(self, text: str | None) -> float:
        if not text or not text.strip():
            return -0.5
        if "<tool_call>" in text or "</tool_call>" in text:
            return -0.3
        answer = score_answer(self.task.answer, text, self.vocabulary)
        if answer > 0:
            return answer / (1 + len(self.open))
        return 0.5 if not self.open else 0.0

    def finish(self, answer_text: str | None, final_digest: str, initial_digest: str, final_state: dict[str, Any] | None) -> RewardBreakdown:
        task = self.task
        calls = len(self.records)
        useful = sum(1 for r in self.records if r.useful)
        needed = len(task.sub_answers)
        if calls:
            precision = useful / calls
        else:
            precision = 1.0 if needed == 0 else 0.0
        change_total = len(task.expected_state.changes) if task.expected_state else 0
        change_made = changes_present(task, final_state)
        found = needed - len(self.open)
        denominator = needed + change_total
        completeness = (found + change_made) / denominator if denominator else 1.0
        answer = score_answer(task.answer, answer_text, self.vocabulary)
        expected_digest = task.expected_state.digest if task.expected_state else initial_digest
        state = 1.0 if final_digest == expected_digest else 0.0
        w = self.weights
        total = w.answer + w.completeness + w.precision + w.state
        reward = (w.answer * answer + w.completeness * completeness + w.precision * precision + w.state * state) / total
        made = [ToolCall(name=r.name, arguments=r.arguments) for r in self.records if r.status != "malformed"]
        report = match_calls(self.schemas, made, [(g.name, g.acceptable) for g in task.golden_calls])
        return RewardBreakdown(
            reward=round(reward, 6),
            precision=precision,
            completeness=completeness,
            answer=answer,
            state=state,
            calls=calls,
            useful_calls=useful,
            invalid_calls=sum(1 for r in self.records if r.status != "ok"),
            sub_answers_found=found,
            sub_answers_total=needed,
            state_changes_made=change_made,
            state_changes_total=change_total,
            matched_golden=sorted(j for _, j in report.pairs),
            missing_golden=report.unmatched_expected,
            unmatched_calls=report.unmatched_calls,
            records=self.records,
        )
