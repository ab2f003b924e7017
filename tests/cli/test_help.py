"""Every ``--help`` a user can ask for is pinned in a snapshot (``pytest --snapshot-update``
rewrites them; review the diff), and the exit-code table it prints is the error catalogue's."""

from __future__ import annotations

import argparse

import pytest

from receiptcore.cli import COMMANDS, build_parser, plugin_commands
from receiptcore.errors import ExitCode, exit_code_table


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """``"receiptcore verify"`` -> its parser, for the program and every (sub)command."""
    found = {}

    def visit(name: str, parser: argparse.ArgumentParser) -> None:
        found[name] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, subparser in action.choices.items():
                    visit(f"{name} {sub}", subparser)

    visit("receiptcore", build_parser())
    return found


PARSERS = _parsers()


def test_every_command_has_a_help_snapshot():
    plugins = {entry.name for entry in plugin_commands()}  # `pipeline`, from pipelines/
    assert {name.split()[1] for name in PARSERS if " " in name} == set(COMMANDS) | plugins


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_help(name, monkeypatch, snapshot):
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps to the terminal's width
    assert PARSERS[name].format_help() == snapshot


def test_the_help_lists_every_exit_code_from_the_catalogue():
    text = PARSERS["receiptcore"].format_help()
    assert exit_code_table() in text
    for code in ExitCode:
        assert f"  {int(code):>3}  {code.meaning}" in text


def test_the_readme_shows_the_catalogues_exit_codes():
    from support.paths import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n", readme.index("<!-- exit-codes:")) + 1
    assert readme[start : readme.index("<!-- /exit-codes -->")] == exit_code_table(markdown=True)


def test_the_ledger_docs_show_which_errors_fail_each_check():
    from receiptcore.verify import checks_table
    from support.paths import REPO

    doc = (REPO / "docs" / "ledger.md").read_text(encoding="utf-8")
    start = doc.index("\n", doc.index("<!-- checks:")) + 1
    assert doc[start : doc.index("<!-- /checks -->")] == checks_table(markdown=True)


# Same flag, another option: `keys generate|trust --trust` names the trust file to write, not one
# to read; `pipeline index --threads` counts index build threads, not hashing threads.
OTHER_MEANING = {("receiptcore pipeline index", "--threads")}


def test_a_shared_option_has_one_help_text_everywhere():
    from receiptcore.cli.options import _SHARED

    for flags, settings in _SHARED.values():
        for name, parser in PARSERS.items():
            if name.startswith("receiptcore keys") or (name, flags[0]) in OTHER_MEANING:
                continue
            for action in parser._actions:
                if flags[0] in action.option_strings:
                    assert action.help == settings["help"], (name, flags[0])
