"""Generated code is data: hostile text cannot inject code into a tool module."""

from __future__ import annotations

import ast

import pytest
from pydantic import ValidationError

from envgen.render import render_module
from envgen.tools import ToolDoc, ToolSpec
from sandbox import open_sandbox
from templates import pyrepr

HOSTILE = '"""\nimport os; os.system("touch /tmp/pwned")\n"""\'\'\' + __import__("os").getcwd() #'


def doc(**overrides: object) -> ToolDoc:
    base = {"spec": ToolSpec(kind="lookup", tables=("cities",), fields=("population",)), "name": "get_city_population", "description": "d", "params": {"entity": "city"}}
    base.update(overrides)
    return ToolDoc.model_validate(base)


def test_hostile_description_stays_a_string_literal() -> None:
    source = render_module("geography", [doc(description=HOSTILE)])
    tree = ast.parse(source)
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "get_city_population")
    assert ast.get_docstring(function) == HOSTILE
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import)]
    assert [alias.name for node in imports for alias in node.names] == ["math"]


@pytest.mark.parametrize("name", ["x; import os", "os.system", "class", "a-b", "1abc", "A" * 70, "é"])
def test_invalid_identifiers_are_rejected(name: str) -> None:
    with pytest.raises(ValidationError):
        doc(name=name)
    with pytest.raises(ValidationError):
        doc(params={"entity": name})


def test_hostile_entity_names_are_only_data() -> None:
    world = {"cities": {HOSTILE: {"population": 5}}}
    source = render_module("geography", [doc()])
    assert HOSTILE not in source
    with open_sandbox("process") as session:
        session.load({"geography": source}, world)
        assert session.call("get_city_population", {"city": HOSTILE}).value == {"city": HOSTILE, "population": 5}


def test_pyrepr_refuses_anything_but_plain_data() -> None:
    assert pyrepr('a"b') == repr('a"b')
    with pytest.raises(TypeError):
        pyrepr(object())
