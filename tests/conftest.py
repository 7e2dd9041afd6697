"""Shared fixtures: small packs are built once per session, since building is the slow part."""

from __future__ import annotations

import pytest

from sandbox import backend_available


def require_backend(name: str) -> None:
    if not backend_available(name):
        pytest.skip(f"sandbox backend {name} is not available on this machine")
