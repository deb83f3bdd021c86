"""nakano_xl: the yearly plan-progress survey of a Japanese ward as a checked Excel round trip.

    plan master ─distribute→ outbox/<課>.xlsx ─(departments fill)→ inbox/ ─consolidate→ 別紙1 + findings

The library does the work and returns values plus findings; the ``nakano-xl`` command
(`nakano_xl.cli`) is a thin layer over it.
"""

from __future__ import annotations

from .consolidate import Consolidation, consolidate
from .distribute import Distribution, distribute
from .errors import NakanoError, OutputLocked
from .findings import Finding, Severity
from .model import Answer, FiscalYear, Item, Plan, Status
from .workspace import Workspace, init_workspace, open_workspace

__version__ = "0.1.0"

__all__ = [
    "Answer", "Consolidation", "Distribution", "Finding", "FiscalYear", "Item", "NakanoError",
    "OutputLocked", "Plan", "Severity", "Status", "Workspace", "consolidate", "distribute",
    "init_workspace", "open_workspace",
]
