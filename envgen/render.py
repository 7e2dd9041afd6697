"""Renders tool modules from `templates/tool_module.py.j2`."""

from __future__ import annotations

import ast
import functools
from collections import defaultdict

from jinja2 import Template

from envgen import __version__
from envgen.tools import CALCULATOR_OPERATIONS, ToolDoc, ToolSpec, check_identifier, entity_noun
from envgen.world import TYPES, UNITS
from templates import environment


def signature(doc: ToolDoc) -> str:
    """Keyword-only parameters: required ones bare, optional ones defaulting to None."""
    properties, required = doc.schema().function.parameters["properties"], doc.schema().function.parameters["required"]
    names = [check_identifier(n) for n in properties]
    return "*, " + ", ".join(n if n in required else f"{n}=None" for n in names)


def nouns(spec: ToolSpec) -> dict[str, str]:
    return {table: entity_noun(table) for table in spec.tables}


def ref_table(spec: ToolSpec) -> str:
    return TYPES[spec.tables[0]].field(spec.fields[0]).target


def ref_noun(spec: ToolSpec) -> str:
    return TYPES[ref_table(spec)].noun


@functools.cache
def module_template() -> Template:
    env = environment()
    env.globals.update(signature=signature, nouns=nouns, ref_table=ref_table, ref_noun=ref_noun, operations=list(CALCULATOR_OPERATIONS))
    return env.get_template("tool_module.py.j2")


def render_module(domain: str, docs: list[ToolDoc]) -> str:
    source = module_template().render(domain=domain, docs=docs, version=__version__, units={d: {u: list(fo) for u, fo in us.items()} for d, us in UNITS.items()})
    ast.parse(source)
    return source


def render_modules(docs: list[ToolDoc]) -> dict[str, str]:
    """One module per domain, tools sorted by name, so the same docs give the same bytes."""
    by_domain: dict[str, list[ToolDoc]] = defaultdict(list)
    for doc in sorted(docs, key=lambda d: d.name):
        by_domain[doc.spec.domain].append(doc)
    return {domain: render_module(domain, members) for domain, members in sorted(by_domain.items())}
