"""The build: stages 1-4 per task (parallel), tool naming and code rendering (global, cheap),
stage 5 validation per task (parallel), then the pack. Every task draws from RNGs seeded by
(seed, task index, stage), so chunking and executors never change the result."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from envgen import __version__
from envgen.config import LEVELS, BuildConfig
from envgen.drafts import Draft
from envgen.executors import make_executor
from envgen.models import DroppedTask, Task, ToolSchema
from envgen.pack import PackData
from envgen.render import render_modules
from envgen.stages.decompose import decompose
from envgen.stages.deploy import to_task, validate
from envgen.stages.document import document
from envgen.stages.integrate import integrate
from envgen.stages.scale import scale
from envgen.tools import ToolDoc
from envgen.world import build_world
from gym_tools.episode import PackRuntime
from sandbox import open_sandbox
from templates import environment

Progress = Callable[[str, int, int], None]
CONTENT_EXCLUDED = {"executor", "ray_address", "chunk_size"}


def task_rng(seed: int, index: int, stage: str) -> random.Random:
    return random.Random(f"{seed}:{index}:{stage}")


def draft_task(config: BuildConfig, world: Any, index: int, structure: str, level: int) -> Draft:
    split = "test" if task_rng(config.seed, index, "split").random() < config.splits.test_fraction else "train"
    draft = decompose(index, structure, level, split, world, config.domains, task_rng(config.seed, index, "decompose"))  # type: ignore[arg-type]
    draft = document(draft, task_rng(config.seed, index, "document"))
    draft = integrate(draft)
    return scale(draft, config.domains, task_rng(config.seed, index, "scale"))


def draft_chunk(config_json: str, items: list[tuple[int, str, int]]) -> list[Draft | DroppedTask]:
    """Stages 1-4 for a chunk of task indexes."""
    config = BuildConfig.model_validate_json(config_json)
    world = build_world(config.seed, config.world.scale)
    out: list[Draft | DroppedTask] = []
    for index, structure, level in items:
        try:
            out.append(draft_task(config, world, index, structure, level))
        except ValueError as exc:
            out.append(DroppedTask(id=f"{structure}-L{level}-{index:05d}", structure=structure, level=level, reason=str(exc)))  # type: ignore[arg-type]
    return out


def name_tools(drafts: list[Draft]) -> dict[str, ToolDoc]:
    """One document per distinct spec; two specs wanting one name get numbered apart, in spec order."""
    by_key: dict[str, ToolDoc] = {}
    for draft in drafts:
        for doc in [c.doc for c in draft.calls()] + draft.distractors:
            assert doc is not None
            by_key.setdefault(doc.spec.key, doc)
    taken: dict[str, str] = {}
    named: dict[str, ToolDoc] = {}
    for key in sorted(by_key):
        doc = by_key[key]
        name, counter = doc.name, 2
        while name in taken and taken[name] != key:
            name, counter = f"{doc.name}_{counter}", counter + 1
        taken[name] = key
        named[key] = doc.model_copy(update={"name": name})
    return named


def validate_chunk(config_json: str, modules: dict[str, str], schemas_json: list[dict[str, Any]], tasks_json: list[dict[str, Any]]) -> list[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """Stage 5 for a chunk: one sandbox session, every task's golden and corrupted runs."""
    config = BuildConfig.model_validate_json(config_json)
    world = build_world(config.seed, config.world.scale)
    schemas = {s["function"]["name"]: ToolSchema.model_validate(s) for s in schemas_json}
    tasks = [Task.model_validate(t) for t in tasks_json]
    pack = PackData(schemas=schemas, modules=modules, world=world.data, tasks=tasks)
    results: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = []
    with open_sandbox(config.sandbox.backend, config.sandbox.limits) as session:
        runtime = PackRuntime(pack, session)
        for task in tasks:
            index = int(task.id.rsplit("-", 1)[1])
            kept, reason, _ = validate(runtime, task, task_rng(config.seed, index, "validate"))
            if kept is not None:
                results.append((kept.model_dump(mode="json"), None))
            else:
                dropped = DroppedTask(id=task.id, structure=task.structure, level=task.level, reason=str(reason))
                results.append((None, dropped.model_dump(mode="json")))
    return results


def chunked(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def counts_of(tasks: list[Task], tools: int, dropped: list[DroppedTask]) -> dict[str, Any]:
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for (structure, level), n in sorted(Counter((t.structure, t.level) for t in tasks).items()):
        table[structure][str(level)] = n
    return {
        "tasks": len(tasks),
        "tools": tools,
        "dropped": len(dropped),
        "by_split": dict(sorted(Counter(t.split for t in tasks).items())),
        "by_structure": dict(sorted(Counter(t.structure for t in tasks).items())),
        "by_level": {str(k): v for k, v in sorted(Counter(t.level for t in tasks).items())},
        "by_domain": dict(sorted(Counter(d for t in tasks for d in t.domains).items())),
        "by_structure_level": dict(table),
        "dropped_by_reason": dict(sorted(Counter(d.reason.split(":")[0] for d in dropped).items())),
    }


def build(config: BuildConfig, progress: Progress | None = None) -> tuple[PackData, dict[str, Any]]:
    """Returns the pack (not yet written) and the manifest fields."""
    report = progress or (lambda stage, done, total: None)
    config_json = config.model_dump_json()
    plan = [(index, structure, level) for index, (structure, level) in enumerate(config.plan())]
    executor = make_executor(config.executor, config.ray_address)
    try:
        drafts: list[Draft] = []
        dropped: list[DroppedTask] = []
        for chunk_result in executor.map(draft_chunk, [(config_json, chunk) for chunk in chunked(plan, config.chunk_size)]):
            for item in chunk_result:
                (drafts if isinstance(item, Draft) else dropped).append(item)  # type: ignore[arg-type]
            report("stages 1-4: decompose, document, integrate, scale", len(drafts) + len(dropped), len(plan))
        docs = name_tools(drafts)
        modules = render_modules(list(docs.values()))
        schemas = {doc.name: doc.schema() for doc in docs.values()}
        report("stage 5: render tool code", 1, 1)
        candidates = [to_task(d, docs, task_rng(config.seed, d.index, "tools")) for d in drafts]
        schemas_json = [s.model_dump(mode="json") for s in schemas.values()]
        kept: list[Task] = []
        chunks = [(config_json, modules, schemas_json, [t.model_dump(mode="json") for t in chunk]) for chunk in chunked(candidates, config.chunk_size)]
        done = 0
        for results in executor.map(validate_chunk, chunks):
            for task_json, dropped_json in results:
                if task_json is not None:
                    kept.append(Task.model_validate(task_json))
                else:
                    dropped.append(DroppedTask.model_validate(dropped_json))
            done += len(results)
            report("stage 5: deploy and validate in the sandbox", done, len(candidates))
    finally:
        executor.close()
    used = {name for task in kept for name in task.tools}
    schemas = {name: schema for name, schema in schemas.items() if name in used}
    used_docs = [doc for doc in docs.values() if doc.name in used]
    modules = render_modules(used_docs)
    world = build_world(config.seed, config.world.scale)
    dropped.sort(key=lambda d: d.id)
    pack = PackData(schemas=schemas, modules=modules, world=world.data, tasks=kept, report={"dropped": [d.model_dump(mode="json") for d in dropped]})
    counts = counts_of(kept, len(schemas), dropped)
    manifest_fields = {
        "generator_version": __version__,
        "seed": config.seed,
        "config": config.model_dump(mode="json", exclude=CONTENT_EXCLUDED),
        "counts": counts,
    }
    return pack, manifest_fields


def pack_readme(config: BuildConfig, counts: dict[str, Any]) -> str:
    template = environment().get_template("pack_readme.md.j2")
    return template.render(name=config.name, version=__version__, seed=config.seed, counts=counts, levels=LEVELS)
