"""Stage 2, document generation: an OpenAI function document for each sub-question's call, with
variety in naming, wording and parameter names (three variants per capability)."""

from __future__ import annotations

import random

from envgen.drafts import Draft
from envgen.tools import VARIANTS, ToolDoc, ToolSpec, entity_noun
from envgen.world import TYPES


def snake(text: str) -> str:
    return text.replace(" ", "_").replace("-", "_").lower()


def lookup_doc(spec: ToolSpec) -> tuple[str, str, dict[str, str]]:
    v = spec.variant
    tables = spec.tables
    noun = snake(entity_noun(tables[0]) if TYPES[tables[0]].keyed_by else TYPES[tables[0]].noun)
    if TYPES[tables[0]].keyed_by:
        noun = "weather"
    params = {"entity": ("name", f"{snake(entity_noun(tables[0]))}_name", snake(entity_noun(tables[0])))[v]}
    if len(tables) > 1:
        domain = TYPES[tables[0]].domain
        params = {"table": ("record_type", "entity_type", "kind")[v], "entity": ("name", "record_name", "identifier")[v], "field": ("attribute", "field", "property")[v]}
        name = (f"get_{domain}_record", f"query_{domain}_data", f"{domain}_lookup")[v]
        description = (
            f"Read one attribute of any {domain} record ({', '.join(entity_noun(t) for t in tables)}) by name.",
            f"General {domain} database query: pick a record type, a record name and an attribute.",
            f"Looks up a single value from the {domain} records.",
        )[v]
    elif len(spec.fields) > 1:
        params["field"] = ("attribute", "field", "info_type")[v]
        name = (f"get_{noun}_info", f"fetch_{noun}_details", f"{noun}_attribute_lookup")[v]
        description = (
            f"Return one attribute of a {entity_noun(tables[0])}: {', '.join(spec.fields)}.",
            f"Fetch a detail about a {entity_noun(tables[0])}, chosen by the attribute parameter.",
            f"Integrated {entity_noun(tables[0])} lookup covering {len(spec.fields)} attributes.",
        )[v]
    else:
        field = spec.fields[0]
        phrase = TYPES[tables[0]].field(field).phrase
        name = (f"get_{noun}_{field}", f"fetch_{field}_of_{noun}", f"{noun}_{field}_lookup")[v]
        description = (
            f"Return the {phrase} of a {entity_noun(tables[0])}.",
            f"Look up a {entity_noun(tables[0])}'s {phrase} by its name.",
            f"Gives the {phrase} recorded for the named {entity_noun(tables[0])}.",
        )[v]
    if spec.unit_param:
        params["unit"] = ("unit", "units", "measure_unit")[v]
    return name, description, params


def search_doc(spec: ToolSpec) -> tuple[str, str, dict[str, str]]:
    v = spec.variant
    entity = TYPES[spec.tables[0]]
    ref, bound = spec.fields
    plural = snake(entity.plural_noun)
    name = (f"find_{plural}_by_{ref}", f"search_{plural}", f"list_{plural}_for_{ref}")[v]
    description = (
        f"Find {entity.plural_noun} by {entity.field(ref).phrase}, optionally capped by {entity.field(bound).phrase}.",
        f"Search the {entity.plural_noun}; filter on {ref} and an upper bound on {bound}.",
        f"Lists matching {entity.plural_noun}.",
    )[v]
    params = {"ref": (ref, f"{ref}_name", f"by_{ref}")[v], "bound": (f"max_{bound}", f"{bound}_limit", f"{bound}_at_most")[v]}
    if spec.structured:
        params["filters"] = ("filters", "criteria", "where")[v]
    return name, description, params


FIXED_DOCS: dict[str, tuple[tuple[str, str], ...]] = {
    "distance": (
        ("get_distance", "Great-circle distance between two cities."),
        ("distance_between_cities", "How far apart two cities are, as the crow flies."),
        ("compute_travel_distance", "Computes the straight-line distance between two named cities."),
    ),
    "calculator": (
        ("calculate", "Apply an arithmetic operation to a list of numbers."),
        ("math_operation", "A small calculator: add, subtract, multiply, divide, max or min."),
        ("compute_numbers", "Performs basic arithmetic over several operands."),
    ),
    "place_order": (
        ("place_order", "Place an order for a customer; reduces the product's stock."),
        ("create_order", "Creates a new order and returns its id and total price."),
        ("order_product", "Orders units of a product on behalf of a customer."),
    ),
    "transfer_funds": (
        ("transfer_funds", "Move money between two accounts of the same currency."),
        ("send_money", "Sends an amount from one bank account to another."),
        ("move_balance", "Debits one account and credits another."),
    ),
}
FIXED_PARAMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "distance": (("origin", "from_city", "city_a"), ("destination", "to_city", "city_b"), ("unit", "units", "distance_unit")),
    "calculator": (("operation", "op", "operation"), ("numbers", "values", "operands")),
    "place_order": (("customer", "customer_name", "buyer"), ("product", "product_name", "item"), ("quantity", "units", "count")),
    "transfer_funds": (("source", "from_account", "debit_account"), ("target", "to_account", "credit_account"), ("amount", "value", "sum")),
}
FIXED_ROLES: dict[str, tuple[str, ...]] = {
    "distance": ("origin", "destination", "unit"),
    "calculator": ("operation", "numbers"),
    "place_order": ("customer", "product", "quantity"),
    "transfer_funds": ("source", "target", "amount"),
}


def document_spec(spec: ToolSpec) -> ToolDoc:
    """The documentation of a spec; a pure function of it, so documents never drift from code."""
    if spec.kind == "lookup":
        name, description, params = lookup_doc(spec)
    elif spec.kind == "search":
        name, description, params = search_doc(spec)
    else:
        name, description = FIXED_DOCS[spec.kind][spec.variant]
        roles = FIXED_ROLES[spec.kind]
        params = {role: FIXED_PARAMS[spec.kind][i][spec.variant] for i, role in enumerate(roles)}
        if spec.kind == "distance" and not spec.unit_param:
            params.pop("unit")
    return ToolDoc(spec=spec, name=name, description=description, params=params)


def with_variant(spec: ToolSpec, rng: random.Random) -> ToolSpec:
    return spec.model_copy(update={"variant": rng.randrange(VARIANTS)})


def document(draft: Draft, rng: random.Random) -> Draft:
    """Each distinct capability in the task gets one naming variant, drawn once."""
    variants: dict[str, ToolSpec] = {}
    for call in draft.calls():
        spec = variants.setdefault(call.spec.key, with_variant(call.spec, rng))
        call.spec = spec
        call.doc = document_spec(spec)
    return draft
