"""An episode's mechanics, shared by the Gymnasium environments and by the generator's stage 5:
calls go to the sandbox on the episode's own copy of the world, the scorer watches them."""

from __future__ import annotations

from typing import Any

from envgen.models import Task, ToolCall
from envgen.pack import PackData
from gym_tools.reward import CallRecord, EpisodeScorer, RewardBreakdown, RewardWeights
from sandbox import CallResult, Sandbox


class PackRuntime:
    """A pack loaded once into a sandbox session; every episode restores the initial world."""

    def __init__(self, pack: PackData, session: Sandbox) -> None:
        self.pack = pack
        self.session = session
        session.load(pack.modules, pack.world)
        self.initial = session.snapshot()
        self.initial_digest = session.state_digest()

    def episode(self, task: Task, weights: RewardWeights | None = None) -> Episode:
        return Episode(self, task, weights)


class Episode:
    def __init__(self, runtime: PackRuntime, task: Task, weights: RewardWeights | None = None) -> None:
        self.runtime = runtime
        self.task = task
        self.offered = set(task.tools)
        runtime.session.restore(runtime.initial)
        self.scorer = EpisodeScorer(task, runtime.pack.schemas_for(task), runtime.pack.vocabulary, weights)

    def call(self, call: ToolCall) -> tuple[CallResult, CallRecord]:
        if call.name not in self.offered:
            result = CallResult(status="error", error=f"tool {call.name!r} is not available; available tools: {sorted(self.offered)}")
        else:
            result = self.runtime.session.call(call.name, call.arguments)
        return result, self.scorer.record_call(call, result)

    def turn(self, calls: list[ToolCall]) -> tuple[list[CallResult], list[CallRecord]]:
        """Several calls in one turn, in order."""
        outcomes = [self.call(call) for call in calls]
        return [result for result, _ in outcomes], [record for _, record in outcomes]

    def finish(self, answer_text: str | None) -> RewardBreakdown:
        session = self.runtime.session
        final_state: dict[str, Any] | None = session.state() if self.task.expected_state else None
        return self.scorer.finish(answer_text, session.state_digest(), self.runtime.initial_digest, final_state)
