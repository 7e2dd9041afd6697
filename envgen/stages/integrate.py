"""Stage 3, function integration: tools with overlapping function (lookups on the same entity type)
merge into one integrated tool whose enum parameter picks the attribute; golden calls follow."""

from __future__ import annotations

from collections import defaultdict

from envgen.drafts import Draft
from envgen.stages.document import document_spec


def integrate(draft: Draft) -> Draft:
    fields_by_table: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for call in draft.calls():
        if call.spec.kind == "lookup":
            fields_by_table[call.spec.tables].update(call.spec.fields)
    for call in draft.calls():
        if call.spec.kind != "lookup":
            continue
        merged = tuple(sorted(fields_by_table[call.spec.tables]))
        if merged != call.spec.fields:
            unit_param = any(c.spec.unit_param for c in draft.calls() if c.spec.tables == call.spec.tables)
            call.spec = call.spec.model_copy(update={"fields": merged, "unit_param": unit_param})
            call.doc = document_spec(call.spec)
    return draft
