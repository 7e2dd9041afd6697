"""Tool specifications: what a tool does (its spec) and how it is documented (name, wording, parameter
names). A spec plus a naming variant fully determines the OpenAI schema and the generated code."""

from __future__ import annotations

import keyword
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from envgen.models import ToolSchema
from envgen.world import TYPES, UNITS

ToolKind = Literal["lookup", "search", "distance", "calculator", "place_order", "transfer_funds"]
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
VARIANTS = 3
KIND_DOMAIN = {"distance": "geography", "calculator": "math", "place_order": "commerce", "transfer_funds": "finance"}
CALCULATOR_OPERATIONS = ("add", "subtract", "multiply", "divide", "max", "min")


def check_identifier(name: str) -> str:
    """Names go into Python source, so they must be plain identifiers and not keywords."""
    if not IDENTIFIER.match(name) or keyword.iskeyword(name):
        raise ValueError(f"{name!r} is not a valid tool or parameter identifier")
    return name


class ToolSpec(BaseModel):
    """What a tool does. `fields` with more than one entry becomes an enum parameter (integration);
    `tables` with more than one entry a generalized tool over several entity types."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ToolKind
    tables: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    unit_param: bool = False
    structured: bool = False
    variant: int = 0

    @property
    def domain(self) -> str:
        return KIND_DOMAIN.get(self.kind) or TYPES[self.tables[0]].domain

    @property
    def key(self) -> str:
        return self.model_dump_json()

    def dimensions(self) -> dict[str, str]:
        """Field name -> unit dimension, for the fields this tool can convert."""
        if not self.unit_param:
            return {}
        return {f: TYPES[t].field(f).dimension for t in self.tables for f in self.fields if _has_field(t, f) and TYPES[t].field(f).dimension}


def _has_field(table: str, name: str) -> bool:
    return any(f.name == name for f in TYPES[table].fields)


class ToolDoc(BaseModel):
    """A documented tool: its spec, its (unique) name, wording, and parameter names by role."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spec: ToolSpec
    name: str
    description: str
    params: dict[str, str]

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return check_identifier(value)

    @field_validator("params")
    @classmethod
    def _valid_params(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value.values():
            check_identifier(name)
        return value

    def schema(self) -> ToolSchema:
        properties, required = parameter_schema(self)
        return ToolSchema.model_validate(
            {
                "type": "function",
                "function": {
                    "name": self.name,
                    "description": self.description,
                    "parameters": {"type": "object", "properties": properties, "required": required},
                },
            }
        )


def entity_noun(table: str) -> str:
    entity = TYPES[table]
    return TYPES[entity.keyed_by].noun if entity.keyed_by else entity.noun


def parameter_schema(doc: ToolDoc) -> tuple[dict[str, Any], list[str]]:
    spec, p = doc.spec, doc.params
    props: dict[str, Any] = {}
    required: list[str] = []

    def add(role: str, schema: dict[str, Any], is_required: bool = True) -> None:
        props[p[role]] = schema
        if is_required:
            required.append(p[role])

    if spec.kind == "lookup":
        nouns = " or ".join(sorted({entity_noun(t) for t in spec.tables}))
        if len(spec.tables) > 1:
            add("table", {"type": "string", "enum": list(spec.tables), "description": "Which kind of record to read."})
        add("entity", {"type": "string", "description": f"Exact name of the {nouns}."})
        if len(spec.fields) > 1:
            add("field", {"type": "string", "enum": list(spec.fields), "description": "Which attribute to return."})
        if spec.unit_param:
            units = sorted({u for d in spec.dimensions().values() for u in UNITS[d]})
            add("unit", {"type": "string", "enum": units, "description": "Unit for measured values; the base unit when omitted."}, False)
    elif spec.kind == "search":
        table = TYPES[spec.tables[0]]
        ref_field, bound_field = spec.fields
        ref_def, bound_def = table.field(ref_field), table.field(bound_field)
        ref_schema = {"type": "string", "description": f"Name of the {TYPES[ref_def.target].noun} ({ref_def.phrase})."}
        bound_schema = {"type": "number", "description": f"Upper bound on the {bound_def.phrase} (inclusive)."}
        if spec.structured:
            add(
                "filters",
                {
                    "type": "object",
                    "description": "Search filters.",
                    "properties": {p["ref"]: ref_schema, p["bound"]: bound_schema},
                    "required": [p["ref"]],
                },
            )
        else:
            add("ref", ref_schema)
            add("bound", bound_schema, False)
    elif spec.kind == "distance":
        add("origin", {"type": "string", "description": "Name of the first city."})
        add("destination", {"type": "string", "description": "Name of the second city."})
        if spec.unit_param:
            add("unit", {"type": "string", "enum": sorted(UNITS["distance"]), "description": "Distance unit; kilometers when omitted."}, False)
    elif spec.kind == "calculator":
        add("operation", {"type": "string", "enum": list(CALCULATOR_OPERATIONS), "description": "Operation applied to the numbers in order."})
        add("numbers", {"type": "array", "items": {"type": "number"}, "description": "The operands."})
    elif spec.kind == "place_order":
        add("customer", {"type": "string", "description": "Name of the customer placing the order."})
        add("product", {"type": "string", "description": "Name of the product."})
        add("quantity", {"type": "integer", "description": "Number of units (at least 1)."})
    elif spec.kind == "transfer_funds":
        add("source", {"type": "string", "description": "Account id to take the money from."})
        add("target", {"type": "string", "description": "Account id to credit."})
        add("amount", {"type": "number", "description": "Amount to move, in the source account's currency."})
    return props, required
