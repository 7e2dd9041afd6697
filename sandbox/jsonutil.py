"""Canonical JSON, shared by the host and (by copy of the same rules) the worker."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def dumps(value: Any) -> str:
    """Canonical text: sorted keys, no spaces, UTF-8 kept, so digests and packs are byte-stable."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: Any) -> str:
    return hashlib.sha256(dumps(value).encode("utf-8")).hexdigest()
