"""Each stage alone, as a function of (input, config, seeded RNG)."""

from __future__ import annotations

import random

import pytest

from envgen.models import STRUCTURES
from envgen.pack import PackData
from envgen.pipeline import name_tools, task_rng
from envgen.render import render_modules
from envgen.stages.decompose import decompose
from envgen.stages.deploy import golden_call, to_task, validate
from envgen.stages.document import document, document_spec
from envgen.stages.integrate import integrate
from envgen.stages.scale import DISTRACTORS, scale
from envgen.tools import ToolSpec
from envgen.world import DOMAINS, TYPES, build_world
from gym_tools.episode import PackRuntime
from sandbox import open_sandbox

WORLD = build_world(5)
ALL = list(DOMAINS)


def drafted(structure: str, level: int, index: int = 1):
    return decompose(index, structure, level, "train", WORLD, ALL, random.Random(index))


def test_world_is_seeded_and_names_are_invented() -> None:
    assert build_world(5).data == WORLD.data
    assert build_world(6).data != WORLD.data
    names = [name for table in WORLD.names.values() for name in table]
    assert len(names) == len(set(n.casefold() for n in names)), "entity names must be unique"
    for country, row in WORLD.data["countries"].items():
        assert WORLD.data["cities"][row["capital"]]["country"] == country


@pytest.mark.parametrize("structure", STRUCTURES)
def test_decompose_answers_follow_from_the_world(structure: str) -> None:
    for index in range(20):
        draft = drafted(structure, 1 + index % 4, index)
        assert draft.query and draft.structure == structure
        ids = {s.id for s in draft.steps}
        for step in draft.steps:
            assert set(step.depends_on) <= ids
            for call in step.calls:
                if call.spec.kind == "lookup" and "unit" not in call.args:
                    row = WORLD.row(call.args["table"], call.args["entity"])
                    assert call.surfaces == [row[call.args["field"]]]
        if structure == "no_tool":
            assert not draft.steps
        if structure == "multi_hop":
            assert 2 <= len(draft.steps) <= 5
            for before, after in zip(draft.steps, draft.steps[1:]):
                assert after.calls[0].args["entity"] == before.calls[0].surfaces[0], "each hop feeds the next"


def test_decompose_phrasings_vary() -> None:
    queries = {drafted("single", 1, i).query.split(" ")[0] for i in range(60)}
    assert len(queries) >= 4


def test_multi_hop_chains_grow_with_level() -> None:
    assert max(len(drafted("multi_hop", 1, i).steps) for i in range(60)) <= 3
    assert max(len(drafted("multi_hop", 4, i).steps) for i in range(60)) == 5


def test_document_gives_valid_varied_names() -> None:
    spec = ToolSpec(kind="lookup", tables=("cities",), fields=("population",))
    names = {document_spec(spec.model_copy(update={"variant": v})).name for v in range(3)}
    assert len(names) == 3
    draft = document(drafted("parallel", 1), random.Random(0))
    for call in draft.calls():
        assert call.doc is not None and call.doc.schema().function.parameters["required"]


def test_integrate_merges_lookups_on_one_entity() -> None:
    draft = None
    for index in range(200):
        candidate = document(drafted("parallel", 1, index), random.Random(index))
        if len({c.spec.fields for c in candidate.calls()}) > 1 and len({c.spec.tables for c in candidate.calls()}) == 1:
            draft = candidate
            break
    assert draft is not None
    merged = integrate(draft)
    specs = {c.spec for c in merged.calls()}
    assert len(specs) == 1
    (spec,) = specs
    assert len(spec.fields) == len(merged.calls())
    assert "enum" in str(merged.calls()[0].doc.schema().function.parameters)


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_scale_by_level(level: int) -> None:
    draft = scale(integrate(document(drafted("multi_hop", level, 3), random.Random(3))), ALL, random.Random(3))
    assert len(draft.distractors) <= DISTRACTORS[level]
    assert len(draft.distractors) >= 1
    for call in draft.calls():
        spec = call.spec
        if level >= 3:
            assert len(spec.fields) > 1, "level 3 generalizes lookups to every attribute"
        if level == 4:
            assert len(spec.tables) == len([t for t in TYPES.values() if t.domain == TYPES[spec.tables[0]].domain])
        if level >= 2 and spec.dimensions():
            assert spec.unit_param


def test_golden_call_acceptable_values_mark_optional_arguments() -> None:
    spec = ToolSpec(kind="lookup", tables=("weather",), fields=("temperature",), unit_param=True)
    doc = document_spec(spec)
    draft = drafted("single", 1)
    call = draft.calls()[0].model_copy(update={"spec": spec, "args": {"table": "weather", "entity": "X", "field": "temperature"}})
    golden = golden_call(call, doc)
    assert golden.acceptable[doc.params["unit"]] == ["", "celsius"]
    assert golden.acceptable[doc.params["entity"]] == ["X"]


def deployable(structure: str, level: int, index: int):
    from envgen.config import BuildConfig
    from envgen.pipeline import draft_task

    config = BuildConfig.model_validate({"seed": 5, "tasks": {"single": {1: 1}}})
    draft = draft_task(config, WORLD, index, structure, level)
    docs = name_tools([draft])
    task = to_task(draft, docs, task_rng(5, index, "tools"))
    pack = PackData(schemas={d.name: d.schema() for d in docs.values()}, modules=render_modules(list(docs.values())), world=WORLD.data, tasks=[task])
    return pack, task


@pytest.mark.parametrize("structure", STRUCTURES)
def test_deploy_validates_through_the_sandbox(structure: str) -> None:
    pack, task = deployable(structure, 2, 11)
    with open_sandbox("process") as session:
        kept, reason, scores = validate(PackRuntime(pack, session), task, random.Random(0))
    assert reason is None and kept is not None
    assert scores and all(score < 1.0 for score in scores.values())
    if structure == "state_changing":
        assert kept.expected_state is not None and kept.expected_state.changes


def test_deploy_drops_a_task_whose_sub_answer_is_wrong() -> None:
    pack, task = deployable("multi_hop", 1, 4)
    broken_steps = [s.model_copy(update={"sub_answers": [a.model_copy(update={"value": "Nowhere"}) for a in s.sub_answers]}) for s in task.steps]
    broken = task.model_copy(update={"steps": broken_steps})
    with open_sandbox("process") as session:
        kept, reason, _ = validate(PackRuntime(pack, session), broken, random.Random(0))
    assert kept is None and reason is not None and "surfaced 0/" in reason
