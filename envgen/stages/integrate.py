"""Stage 3, function integration: tools with overlapping function (lookups on the same entity type)
merge into one integrated tool whose enum parameter picks the attribute; golden calls follow. The merged
tool keeps one naming variant, so a task never offers two differently named tools that do the same job
(either would answer the question, yet only one could match the golden call)."""

from __future__ import annotations

from collections import defaultdict

from envgen.drafts import Draft
from envgen.stages.document import document_spec


def integrate(draft: Draft) -> Draft:
    fields_by_table: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for call in draft.calls():
        if call.spec.kind == "lookup":
            fields_by_table[call.spec.tables].update(call.spec.fields)
    variants: dict[tuple[str, ...], int] = {}
    for call in draft.calls():
        if call.spec.kind != "lookup":
            continue
        merged = tuple(sorted(fields_by_table[call.spec.tables]))
        variant = variants.setdefault(call.spec.tables, call.spec.variant)
        if merged != call.spec.fields or variant != call.spec.variant:
            unit_param = any(c.spec.unit_param for c in draft.calls() if c.spec.tables == call.spec.tables)
            call.spec = call.spec.model_copy(update={"fields": merged, "unit_param": unit_param, "variant": variant})
            call.doc = document_spec(call.spec)
    return draft
