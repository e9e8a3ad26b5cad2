"""The package's exception hierarchy.

Every error a user can cause (a bad file, an unknown id, a wrong unit, a store from a newer release)
is a :class:`SymbiosisError`, so the CLI can turn it into one clear message and a non-zero exit.
Subclasses also derive from the matching built-in (``ValueError``, ``LookupError``) so that library
users can catch them the ordinary way.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "SymbiosisError",
    "input_part",
    "ReconciliationError",
    "StoreError",
    "SchemaVersionError",
    "InputError",
    "UnitError",
    "Problem",
    "ValidationError",
    "UnknownIdError",
    "GraphContractError",
    "ShippedDataError",
    "SolverError",
]

#: how many row problems a ValidationError lists before it summarises the rest
MAX_LISTED_PROBLEMS = 50


class SymbiosisError(Exception):
    """Base class of every error raised on purpose by symbiosis."""


class StoreError(SymbiosisError, RuntimeError):
    """The SQLite store cannot be opened or used (not a symbiosis store, locked, ...)."""


class SchemaVersionError(StoreError):
    """The store was written by a newer release than this one."""


class InputError(SymbiosisError, ValueError):
    """A file or an argument cannot be used as given."""


class UnitError(InputError):
    """A unit is unknown, ambiguous, or of the wrong dimension for the flow's kind."""


class UnknownIdError(SymbiosisError, LookupError):
    """An id (park, enterprise, import) that the store does not hold."""


class GraphContractError(InputError):
    """A graph handed to an analysis lacks what the graph contract (:mod:`symbiosis.graph`) promises."""


class ShippedDataError(SymbiosisError, FileNotFoundError):
    """A file shipped with symbiosis is missing or broken: the installation, not the user's data."""


class ReconciliationError(InputError):
    """Balances that cannot close: after the unknown flows are eliminated they hold fixed values only,
    and those do not add up (:func:`symbiosis.reconcile.reconcile`). ``processes`` names the balances."""

    def __init__(self, message: str, processes: Sequence[str] = ()):
        super().__init__(message)
        self.processes = tuple(processes)


class SolverError(SymbiosisError, RuntimeError):
    """An optimisation that always has a solution was not solved: a solver failure, not a bad input."""


@dataclass(frozen=True)
class Problem:
    """One problem found in one cell (or header, or whole file) of an input file.

    ``row`` is the row number as a spreadsheet shows it (the header is row 1), or ``None``
    for a problem with the whole file; ``column`` is ``None`` for a problem with a whole row.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        if self.value is not None:
            shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
            return f"{where}: {shown!r}: {self.expected}"
        return f"{where}: {self.expected}"


class ValidationError(InputError):
    """One or more problems in input files; nothing was written.

    Parameters
    ----------
    problems : list of Problem
        The problems found (the importer keeps the first few thousand). The message lists the first
        ``MAX_LISTED_PROBLEMS``.
    total : int, optional
        How many problems there were in all, when more were found than kept.
    """

    def __init__(self, problems: list[Problem], total: int | None = None):
        self.problems = list(problems)
        self.total = max(total or 0, len(self.problems))
        shown = self.problems[:MAX_LISTED_PROBLEMS]
        lines = [f"{self.total} problem(s) found; nothing was written:"]
        lines += [f"  {problem}" for problem in shown]
        hidden = self.total - len(shown)
        if hidden:
            lines.append(f"  ... and {hidden} more (fix these first, then run again)")
        super().__init__("\n".join(lines))


_Part = TypeVar("_Part")


def input_part(value: _Part | None, part: str, analysis: str, loader: str) -> _Part:
    """An input a pure analysis needs, or an :class:`InputError` naming the part of ``loader`` it was read
    without (the loaders read only the parts asked for; a pure function given too little says so)."""
    if value is None:
        raise InputError(f"{analysis} needs inputs read with {part!r} ({loader}(..., parts=...)); "
                         "these were read without it")
    return value
