"""Where the shipped datasets are.

In the repository they are in ``datasets/`` beside the package; a wheel carries them inside the
package as ``symbiosis/_datasets`` (data files, never an import package named ``datasets``, which
would shadow Hugging Face's library of that name).
"""
from __future__ import annotations

from pathlib import Path

from .errors import ShippedDataError, UnknownIdError

__all__ = ["datasets_dir", "dataset_files", "catalogue_path", "DEMO_SETS"]

#: the sets ``symbiosis demo`` loads, in order
DEMO_SETS = ("kalundborg", "zero_carbon_park")


def datasets_dir() -> Path:
    """The folder holding the shipped datasets (one sub-folder per set)."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_datasets", package.parent / "datasets"):
        if candidate.is_dir():
            return candidate
    raise ShippedDataError("the shipped datasets are missing from this installation of symbiosis: reinstall it")


def dataset_files(name: str) -> list[Path]:
    """The data files (CSV) of one shipped set, e.g. ``dataset_files("kalundborg")``."""
    folder = datasets_dir() / name
    if not folder.is_dir():
        known = sorted(p.name for p in datasets_dir().iterdir() if p.is_dir())
        raise UnknownIdError(f"no dataset {name!r}; shipped: {', '.join(known)}")
    return sorted(folder.glob("*.csv"))


def catalogue_path() -> Path | None:
    """The shipped resource catalogue (``datasets/catalogue/resources.csv``), if present."""
    try:
        path = datasets_dir() / "catalogue" / "resources.csv"
    except FileNotFoundError:
        return None
    return path if path.is_file() else None
