"""Docs that a test keeps true: every finding code documented (and nothing else), every command explained."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from nakano_xl.cli import cli
from nakano_xl.findings import CATALOGUE

ROOT = Path(__file__).resolve().parent.parent
FINDINGS_DOC = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
ENTRY = re.compile(r"^### `([a-z_]+\.[a-z_]+)` — (error|warning|info)\b(.*)$", re.MULTILINE)


def documented() -> dict[str, tuple[str, str]]:
    """code → (severity as the heading says, the entry's text up to the next heading)."""
    out = {}
    for m in ENTRY.finditer(FINDINGS_DOC):
        end = FINDINGS_DOC.find("\n#", m.end())
        out[m.group(1)] = (m.group(2), FINDINGS_DOC[m.end(): end if end >= 0 else None])
    return out


def test_every_code_in_the_catalogue_is_documented_and_nothing_else():
    doc = documented()
    assert sorted(set(CATALOGUE) - set(doc)) == [], "codes missing from docs/findings.md"
    assert sorted(set(doc) - set(CATALOGUE)) == [], "codes in docs/findings.md that findings.py does not have"
    headings = re.findall(r"^### `([^`]+)`", FINDINGS_DOC, re.MULTILINE)
    assert len(headings) == len(set(headings)) == len(CATALOGUE)  # each once


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_each_documented_code_has_its_severity_and_an_example(code):
    severity, text = documented()[code]
    assert severity == CATALOGUE[code][0].key
    example = re.search(r"^Example: `(.+)`$", text, re.MULTILINE)
    assert example, f"{code}: no example"
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", example.group(1)), f"{code}: the example is not the Japanese message"
    assert "What to do:" in text


def commands() -> list[str]:
    return sorted(cli.commands)


@pytest.mark.parametrize("command", commands())
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "例: nakano-xl " + command in result.output


@pytest.mark.parametrize("command", ["check", "status"])
def test_the_intake_commands_are_in_the_readme_table(command):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"^\| `nakano-xl {command} ", readme, re.MULTILINE)


def test_check_and_status_are_commands():
    assert {"check", "status"} <= set(commands())
