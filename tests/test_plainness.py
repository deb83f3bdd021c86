"""The code stays ownable: dependencies through their public APIs only, modules readable in one sitting.

A private attribute of xlsxwriter, openpyxl or zipfile (``workbook._store_workbook``,
``dest._crc``) can change in any release and break every report without a warning; these
tests fail on the first one instead. They read the package's own source.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nakano_xl"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 600


def private_uses(source: str) -> list[str]:
    """``x._name`` where x is not ``self``/``cls``, and ``from package import _name``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found += [f"{node.lineno}: from {node.module} import {a.name}" for a in node.names if a.name.startswith("_")]
    return found


def test_the_check_finds_what_it_looks_for():
    sample = "import zipfile\nfrom xlsxwriter.utility import _private\ndef f(w):\n    w._store_workbook()\n    self._ok = 1\n"
    assert private_uses(sample) == ["2: from xlsxwriter.utility import _private", "4: w._store_workbook"]


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_private_attribute_of_another_object_or_package(module):
    assert private_uses(module.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_module_over_600_lines(module):
    assert len(module.read_text(encoding="utf-8").splitlines()) <= MAX_LINES
