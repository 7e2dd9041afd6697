"""Stage 5, localized deployment: drafts become pack tasks with golden calls in their tools' own
parameter names; every task's golden solution then runs through the real sandbox and the real reward,
and the task is kept only if it surfaces every sub-answer, earns full reward, and every corruption of
it earns less. What is dropped is reported with the reason."""

from __future__ import annotations

import random
from typing import Any

from envgen.drafts import Draft, DraftCall
from envgen.models import Answer, ExpectedState, GoldenCall, StateChange, Step, SubAnswer, Task, ToolCall
from envgen.tools import ToolDoc
from envgen.world import UNITS
from gym_tools.episode import PackRuntime
from gym_tools.reward import RewardBreakdown

MISSING = object()


def golden_call(call: DraftCall, doc: ToolDoc) -> GoldenCall:
    """Arguments by role become arguments by the tool's parameter names, with BFCL acceptable lists."""
    schema = doc.schema().function.parameters
    properties, required = schema["properties"], schema["required"]
    p = doc.params
    arguments: dict[str, Any] = {}
    acceptable: dict[str, list[Any]] = {}
    spec = doc.spec
    if spec.kind == "search" and spec.structured:
        inner = {p["ref"]: call.args["ref"], **({p["bound"]: call.args["bound"]} if "bound" in call.args else {})}
        arguments[p["filters"]] = inner
        acceptable[p["filters"]] = [{p["ref"]: [call.args["ref"]], p["bound"]: [call.args["bound"]] if "bound" in call.args else [""]}]
        return GoldenCall(name=doc.name, arguments=arguments, acceptable=acceptable)
    for role, name in p.items():
        if name not in properties:
            continue
        if role in call.args:
            arguments[name] = call.args[role]
            acceptable[name] = [call.args[role]]
        elif name not in required:
            base = [next(iter(UNITS[d])) for d in spec.dimensions().values()][:1] if role == "unit" else []
            acceptable[name] = ["", *base] if not (role == "unit" and spec.kind == "distance") else ["", "kilometers"]
        else:
            raise ValueError(f"{doc.name}: no value for required parameter {name!r} (role {role})")
    return GoldenCall(name=doc.name, arguments=arguments, acceptable=acceptable)


def to_task(draft: Draft, docs: dict[str, ToolDoc], rng: random.Random) -> Task:
    steps = []
    position = 0
    for step in draft.steps:
        calls = [golden_call(c, docs[c.spec.key]) for c in step.calls]
        subs = [SubAnswer(tool=docs[c.spec.key].name, call=position + i, value=v) for i, c in enumerate(step.calls) for v in c.surfaces]
        position += len(calls)
        steps.append(Step(id=step.id, question=step.question, depends_on=step.depends_on, calls=calls, sub_answers=subs))
    tools = sorted({docs[c.spec.key].name for c in draft.calls()} | {docs[d.spec.key].name for d in draft.distractors})
    rng.shuffle(tools)
    return Task(
        id=draft.id,
        split=draft.split,
        structure=draft.structure,
        level=draft.level,
        domains=draft.domains,
        query=draft.query,
        tools=tools,
        steps=steps,
        answer=draft.answer,
    )


def format_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def answer_text(answer: Answer) -> str:
    return f"<answer>{format_value(answer.value)}</answer>"


def golden_turns(task: Task) -> list[list[ToolCall]]:
    """Steps in dependency waves: independent steps share a turn, as parallel calls."""
    done: set[str] = set()
    pending = list(task.steps)
    turns: list[list[ToolCall]] = []
    while pending:
        wave = [s for s in pending if set(s.depends_on) <= done]
        if not wave:
            raise ValueError(f"task {task.id}: steps have a dependency cycle")
        turns.append([c.as_call() for s in wave for c in s.calls])
        done |= {s.id for s in wave}
        pending = [s for s in pending if s not in wave]
    return turns


def replay(runtime: PackRuntime, task: Task, turns: list[list[ToolCall]], answer: str | None) -> RewardBreakdown:
    episode = runtime.episode(task)
    for calls in turns:
        episode.turn(calls)
    return episode.finish(answer)


def state_changes(before: dict[str, Any], after: dict[str, Any]) -> list[StateChange]:
    changes: list[StateChange] = []
    for table, rows in sorted(after.items()):
        for key, row in sorted(rows.items()):
            old = before.get(table, {}).get(key, {})
            changes += [StateChange(table=table, key=key, field=f, value=v) for f, v in sorted(row.items()) if old.get(f, MISSING) != v]
    return changes


def wrong_value(value: Any, vocabulary_names: list[str], rng: random.Random) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return round(value + abs(value) * 0.5 + 7, 2)
    if isinstance(value, list):
        return [wrong_value(v, vocabulary_names, rng) for v in value] or ["nothing"]
    others = [n for n in vocabulary_names if n.casefold() != str(value).casefold()]
    return rng.choice(others)


def mangled(value: Any) -> Any:
    """A wrong argument that no entity answers to, so the outcome cannot coincide by luck."""
    if isinstance(value, str):
        return f"{value} Annex"
    if isinstance(value, dict):
        return {key: mangled(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mangled(item) for item in value]
    return wrong_value(value, [], random.Random(0))


def corruptions(task: Task, names: list[str], rng: random.Random) -> dict[str, tuple[list[list[ToolCall]], str]]:
    """Each kind of wrong play that must earn less than the golden solution."""
    turns = golden_turns(task)
    golden_answer = answer_text(task.answer)
    wrong = answer_text(task.answer.model_copy(update={"value": wrong_value(task.answer.value, names, rng)}))
    cases: dict[str, tuple[list[list[ToolCall]], str]] = {"wrong_answer": (turns, wrong)}
    calls = [c for turn in turns for c in turn]
    if not calls:
        distractor = ToolCall(name=task.tools[0], arguments={}) if task.tools else ToolCall(name="none", arguments={})
        cases["needless_call"] = ([[distractor]], golden_answer)
        return cases
    first = calls[0]
    others = [t for t in task.tools if t != first.name]
    if others:
        swapped = first.model_copy(update={"name": rng.choice(others)})
        cases["wrong_tool"] = ([[swapped, *turns[0][1:]], *turns[1:]], golden_answer)
    strings = [k for k, v in first.arguments.items() if isinstance(v, (str, dict))]
    key = (strings or list(first.arguments) or [None])[0]
    if key is not None:
        bad = dict(first.arguments, **{key: mangled(first.arguments[key])})
        cases["wrong_argument"] = ([[first.model_copy(update={"arguments": bad}), *turns[0][1:]], *turns[1:]], golden_answer)
    cases["missing_step"] = ([*turns[:-1], turns[-1][:-1]], golden_answer)
    cases["spam_calls"] = ([[c for c in turn for _ in range(3)] for turn in turns], golden_answer)
    cases["no_calls"] = ([], golden_answer)
    if task.expected_state is not None:
        cases["state_unchanged"] = ([], golden_answer)
    return cases


def validate(runtime: PackRuntime, task: Task, rng: random.Random) -> tuple[Task | None, str | None, dict[str, float]]:
    """Returns (kept task, None, corruption rewards) or (None, reason, {})."""
    turns = golden_turns(task)
    if task.structure == "state_changing":
        episode = runtime.episode(task)
        for calls in turns:
            episode.turn(calls)
        session = runtime.session
        changes = state_changes(runtime.pack.world, session.state())
        if not changes:
            return None, "golden solution changed no state", {}
        task = task.model_copy(update={"expected_state": ExpectedState(digest=session.state_digest(), changes=changes)})
    golden = replay(runtime, task, turns, answer_text(task.answer))
    if golden.sub_answers_found != golden.sub_answers_total:
        return None, f"golden run surfaced {golden.sub_answers_found}/{golden.sub_answers_total} sub-answers", {}
    if golden.reward < 1.0:
        return None, f"golden run earned {golden.reward:.3f} < 1", {}
    names = runtime.pack.vocabulary_names
    scores: dict[str, float] = {}
    for kind, (corrupt_turns, corrupt_answer) in corruptions(task, names, rng).items():
        scores[kind] = replay(runtime, task, corrupt_turns, corrupt_answer).reward
        if scores[kind] >= 1.0:
            return None, f"corruption {kind} earned full reward", {}
    return task, None, scores
