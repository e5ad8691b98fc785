"""Documentation that cannot drift: every CLI option and every group-name field is in the README."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cers_core.cli import _parser
from cers_core.settings import GroupNameField

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = _parser(demo=True)
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (name, option)
        for name, sub in _subcommands().items()
        for action in sub._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    ],
)
def test_every_cli_option_is_documented(command, option):
    assert f"`{option}" in README, f"{command} {option} is not in the README"


@pytest.mark.parametrize("command", list(_subcommands()))
def test_every_command_is_documented(command):
    assert f"| `{command}" in README


@pytest.mark.parametrize("field", list(GroupNameField))
def test_every_group_name_field_is_documented(field):
    assert f"| `{field.value}` |" in README


def test_the_two_setup_commands_are_documented():
    assert "`make run`" in README and "`make test`" in README
