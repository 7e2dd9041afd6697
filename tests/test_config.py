from __future__ import annotations

from pathlib import Path

import pytest

from envgen.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_quickstart_config_is_valid() -> None:
    config = load_config(Path(__file__).parents[1] / "examples" / "quickstart.yaml")
    assert config.total_tasks >= 500
    assert len(config.domains) >= 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tasks: {single: {1: 2}}\nsed: 3\n", "sed: Extra inputs are not permitted"),
        ("tasks: {single: {1: 2}}\nseed: abc\n", "seed: Input should be a valid integer"),
        ("tasks: {singel: {1: 2}}\n", "unknown structure 'singel'"),
        ("tasks: {single: {7: 2}}\n", "level 7 is not one of"),
        ("tasks: {single: {1: -1}}\n", "count must be >= 0"),
        ("tasks: {single: {1: 0}}\n", "at least one task"),
        ("tasks: {single: {1: 2}}\ndomains: [geography, atlantis]\n", "unknown domains ['atlantis']"),
        ("tasks: {single: {1: 2}}\nsandbox: {limits: {memory_mb: 1}}\n", "sandbox.limits.memory_mb"),
        ("tasks: [1, 2\n", "not valid YAML"),
        ("- just a list\n", "top level must be a mapping"),
    ],
)
def test_bad_configs_name_the_key_and_reason(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text))
    assert expected in str(raised.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")
