"""Shared fixtures: the bundled FY R3 sample run once, and small synthetic plans.

Tests read only what is in the repository (samples/), never anything beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nakano_xl.demo import SAMPLE_CREATED, run_demo, sample_dir

from .helpers import PLAN_HEADER, TINY_PLAN, write_csv

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sample() -> Path:
    return sample_dir()


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory):
    """The whole demo round trip on the sample, once per test session (read-only for tests)."""
    return run_demo(tmp_path_factory.mktemp("demo") / "令和3年度")


@pytest.fixture
def tiny_plan(tmp_path: Path) -> Path:
    """Six items, three departments, one shared row, one related department, one 再掲."""
    return write_csv(tmp_path / "tiny_plan.csv", PLAN_HEADER, TINY_PLAN)


@pytest.fixture
def tiny_ws(tmp_path: Path, tiny_plan: Path):
    from nakano_xl.workspace import init_workspace

    return init_workspace(tmp_path / "ws", tiny_plan, "R3", now=SAMPLE_CREATED)
