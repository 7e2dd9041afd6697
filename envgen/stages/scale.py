"""Stage 4, complexity scaling, by level:

1. the tools the task needs and one distractor;
2. parameter expansion: optional unit parameters on measured values; three distractors;
3. functional generalization: a lookup covers every attribute of its entity (enum), searches take a
   structured filter object; five distractors;
4. generalized functions: one lookup per domain over every entity type; seven distractors.
Longer chains per level come from stage 1 (hops grow with the level)."""

from __future__ import annotations

import random

from envgen.drafts import Draft
from envgen.stages.document import document_spec, with_variant
from envgen.tools import ToolDoc, ToolSpec
from envgen.world import ENTITY_TYPES, TYPES

DISTRACTORS = {1: 1, 2: 3, 3: 5, 4: 7}


def lookup_fields(table: str) -> tuple[str, ...]:
    return tuple(sorted(f.name for f in TYPES[table].fields))


def domain_tables(table: str) -> tuple[str, ...]:
    domain = TYPES[table].domain
    return tuple(e.table for e in ENTITY_TYPES if e.domain == domain)


def has_dimension(tables: tuple[str, ...], fields: tuple[str, ...]) -> bool:
    return any(TYPES[t].field(f).dimension for t in tables for f in fields if any(d.name == f for d in TYPES[t].fields))


def scaled(spec: ToolSpec, level: int) -> ToolSpec:
    update: dict[str, object] = {}
    if spec.kind == "lookup":
        if level >= 4:
            tables = domain_tables(spec.tables[0])
            update["tables"] = tables
            update["fields"] = tuple(sorted({f for t in tables for f in lookup_fields(t)}))
        elif level >= 3:
            update["fields"] = lookup_fields(spec.tables[0])
        tables = update.get("tables", spec.tables)
        fields = update.get("fields", spec.fields)
        if level >= 2 and has_dimension(tables, fields):  # type: ignore[arg-type]
            update["unit_param"] = True
    elif spec.kind == "distance" and level >= 2:
        update["unit_param"] = True
    elif spec.kind == "search" and level >= 3:
        update["structured"] = True
    return spec.model_copy(update=update)


def distractor_specs(draft: Draft, domains: list[str]) -> list[ToolSpec]:
    used = {(c.spec.kind, c.spec.tables) for c in draft.calls()}
    pool: list[ToolSpec] = []
    for entity in ENTITY_TYPES:
        if entity.domain not in domains or ("lookup", (entity.table,)) in used:
            continue
        for field in entity.fields:
            pool.append(ToolSpec(kind="lookup", tables=(entity.table,), fields=(field.name,)))
    for kind in ("distance", "calculator", "place_order", "transfer_funds"):
        if (kind, ()) not in used and ToolSpec(kind=kind).domain in domains:  # type: ignore[arg-type]
            pool.append(ToolSpec(kind=kind))  # type: ignore[arg-type]
    return pool


def scale(draft: Draft, domains: list[str], rng: random.Random) -> Draft:
    level = draft.level
    for call in draft.calls():
        spec = scaled(call.spec, level)
        if spec != call.spec:
            call.spec = spec
            call.doc = document_spec(spec)
    names = {c.doc.name for c in draft.calls() if c.doc is not None}
    pool = distractor_specs(draft, domains)
    distractors: list[ToolDoc] = []
    for spec in rng.sample(pool, min(len(pool), DISTRACTORS[level] + (2 if not draft.steps else 0))):
        doc = document_spec(scaled(with_variant(spec, rng), level))
        if doc.name not in names:
            names.add(doc.name)
            distractors.append(doc)
    draft.distractors = distractors
    return draft
