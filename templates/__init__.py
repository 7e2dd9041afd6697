"""Jinja2 templates for generated tool code, prompts and pack documents."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATE_DIR = Path(__file__).parent


def pyrepr(value: object) -> str:
    """Literals enter generated Python only as `repr` of plain data, never as pasted text."""
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, (str, int, float, bool, list, dict, type(None))):
        raise TypeError(f"refusing to render {type(value).__name__} as a Python literal")
    return repr(value)


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["pyrepr"] = pyrepr
    return env
