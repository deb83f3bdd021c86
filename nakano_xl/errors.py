"""Exceptions for a run that cannot go on.

Problems in what departments send back are never exceptions: they are findings
(`nakano_xl.findings`). These are for the coordinator's own inputs and the machine:
an unreadable plan master, a missing workspace, an output file held open by Excel.
The CLI turns any `NakanoError` into one Japanese line and exit status 2.
"""

from __future__ import annotations


class NakanoError(Exception):
    """The run cannot continue; ``str(e)`` is a Japanese message for the user."""


class PlanError(NakanoError):
    """The plan master, KPI table or answers table cannot be used as it is."""


class WorkspaceError(NakanoError):
    """The workspace folder is missing, incomplete or its settings are invalid."""


class OutputLocked(NakanoError):
    """An output file cannot be replaced, typically because Excel has it open."""
