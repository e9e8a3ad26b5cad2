"""The ``symbiosis`` console script: answers ``--version`` before any library is loaded, then runs the CLI."""
from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Entry point of the ``symbiosis`` command (``pyproject.toml``: ``[project.scripts]``)."""
    if sys.argv[1:] == ["--version"]:  # as click's version option prints it, without importing pandas & co.
        from . import __version__

        print(f"symbiosis, version {__version__}")
        return
    from cli import main as run

    run()
