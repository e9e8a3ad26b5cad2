"""Sector codes and their names: NACE Rev. 2 and GB/T 4754-2017, read the way real data write them.

The shipped table ``datasets/catalogue/sectors.csv`` (sources in ``SECTORS.md``) holds the sections
and two-digit divisions of both schemes: NACE Rev. 2 sections A-U and divisions 01-99 with Eurostat's
English titles; GB/T 4754-2017 门类 A-T and 大类 01-97 with their Chinese titles and an English
title (this project's translation, marked so in the ``name_source`` column).

Published data write the same code many ways ("C23", "C23.5", "23.51", "01.", "A01", "2621",
"C2621", "3011"); :func:`parse_sector` reads them all into one :class:`SectorCode`, and
:func:`sector_division` gives the key maps and tables group by.

GB/T 4754 is China's classification, and other countries number their industries with the same
shapes (Australia's ANZSIC writes alumina production "2131", which GB/T would read as furniture). So
a code with no NACE shape is read as GB/T only when the firm is in China (``country`` "CN", "CHN",
"China", "中国", "PRC", ...: see :func:`is_china`) or the caller names the scheme. How the scheme of
a code is decided when the caller does not name it:

- a dot means NACE, anywhere ("23.51", "C23.5", "01."): GB/T codes are written without dots;
- a section letter with 2 digits ("C23") means NACE, anywhere, unless the letter is not that NACE
  division's section but is the GB/T 大类's ("D44", "E47": GB/T);
- a section letter with 3 or 4 digits ("C2621") is GB/T in China (a 中类 or 小类 whose first two
  digits are the 大类) and NACE elsewhere (a group or class written without its dot, "C2351");
- digits alone, without a dot ("2621", "3011", "26"), are GB/T in China; elsewhere, or when the
  country is not known, 3 or 4 digits are not read (None: the code is some national scheme's, and
  guessing would name the wrong industry), and 2 digits are a NACE division. A NACE class written
  without its dot ("2351") is read only with ``scheme="nace2"``;
- a lone letter is a NACE section.

A section letter that matches neither scheme's parent of the division ("A23") makes the code
unreadable (None), as do codes of one digit or of more than four digits without a dot (a leading
zero lost in a spreadsheet cannot be put back safely).
"""
from __future__ import annotations

import functools
import re
from typing import NamedTuple

import pandas as pd

from .datasets import datasets_dir
from .errors import InputError

__all__ = ["SCHEMES", "SectorCode", "is_china", "load_sectors", "parse_sector", "sector_division", "sector_name"]

#: scheme id -> its name as written in tables and legends
SCHEMES = {"nace2": "NACE Rev. 2", "gbt4754": "GB/T 4754-2017"}

#: how :func:`sector_division` marks a GB/T key, so that GB/T C26 never merges with NACE C26
_GBT_PREFIX = "GB/T "

_ALIASES = {"nace": "nace2", "nace2": "nace2", "nacerev2": "nace2", "nacer2": "nace2",
            "gbt4754": "gbt4754", "gbt47542017": "gbt4754", "gb4754": "gbt4754", "gbt": "gbt4754",
            "gb": "gbt4754"}
#: how data name China (after lower-casing and dropping spaces and punctuation); Hong Kong, Macao and
#: Taiwan have their own industry classifications and are not in this list
_CHINA = {"cn", "chn", "156", "china", "prc", "peoplesrepublicofchina", "chinapeoplesrepublicof",
          "mainlandchina", "中国", "中华人民共和国", "中国大陆"}
_CODE = re.compile(r"^(?P<letter>[A-Z])?(?P<digits>\d[\d.]*)?$")


class SectorCode(NamedTuple):
    """A sector code read by :func:`parse_sector`.

    Attributes
    ----------
    scheme : str
        ``nace2`` or ``gbt4754``.
    section : str
        The section letter (NACE section, GB/T 门类).
    division : str or None
        Two digits (NACE division, GB/T 大类), or None for a section alone.
    code : str
        The code as given, stripped.
    """

    scheme: str
    section: str
    division: str | None
    code: str


def _scheme_id(scheme: str | None) -> str | None:
    if scheme is None:
        return None
    key = re.sub(r"[^a-z0-9]", "", str(scheme).lower())
    if key not in _ALIASES:
        raise InputError(f"unknown sector scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
    return _ALIASES[key]


def is_china(country: str | None) -> bool:
    """Whether a park's ``country`` names (mainland) China, where GB/T 4754 is the classification.

    Examples
    --------
    >>> [is_china(country) for country in ("CN", "chn", "China", "中国", "P.R.C.", "AU", "Hong Kong, China", None)]
    [True, True, True, True, True, False, False, False]
    """
    if not isinstance(country, str):  # None, or NaN from a DataFrame
        return False
    return re.sub(r"[\W_]", "", country.casefold()) in _CHINA


@functools.lru_cache(maxsize=1)
def _rows() -> dict[tuple[str, str], dict[str, str]]:
    """(scheme, code) -> row of the shipped table; code is a section letter or two digits."""
    path = datasets_dir() / "catalogue" / "sectors.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {(row["scheme"], row["code"]): row for row in frame.to_dict("records")}


def load_sectors() -> pd.DataFrame:
    """The shipped sector table.

    Returns
    -------
    pandas.DataFrame
        ``scheme`` (nace2, gbt4754), ``level`` (section, division), ``code`` (a letter, or two
        digits), ``parent`` (the section of a division), ``name`` (English), ``name_zh`` (the
        official Chinese title; GB/T only) and ``name_source`` (``eurostat`` or ``translation``).

    Examples
    --------
    >>> table = load_sectors()
    >>> table.groupby(["scheme", "level"]).size().to_dict()
    {('gbt4754', 'division'): 97, ('gbt4754', 'section'): 20, ('nace2', 'division'): 88, ('nace2', 'section'): 21}
    """
    return pd.DataFrame(list(_rows().values()))


def _parent(scheme: str, division: str) -> str | None:
    row = _rows().get((scheme, division))
    return row["parent"] if row else None


def parse_sector(code: str | None, *, scheme: str | None = None, country: str | None = None) -> SectorCode | None:
    """Read a sector code as real data write it (see the module docstring for the rules).

    Parameters
    ----------
    code : str or None
        "C23", "C23.5", "23.51", "01.", "A01", "2621", "C2621", "3011", "D", ...
    scheme : str, optional
        ``nace2`` or ``gbt4754`` (also "NACE", "GB/T 4754-2017", ...) when the data say which;
        otherwise it is decided from the code's form and the firm's country.
    country : str, optional
        The country of the firm's park ("CN", "AU", "China", ...). Codes without a NACE shape are
        read as GB/T only in China; None means not known (no GB/T reading of digits alone).

    Returns
    -------
    SectorCode or None
        None for an empty code, a form no scheme of the firm's country uses, or a division the
        scheme does not have.

    Raises
    ------
    InputError
        An unknown ``scheme``.

    Examples
    --------
    >>> parse_sector("23.51")
    SectorCode(scheme='nace2', section='C', division='23', code='23.51')
    >>> parse_sector("C2621", country="CN").scheme, parse_sector("3011", country="China").division
    ('gbt4754', '30')
    >>> parse_sector("2131", country="AU") is None  # ANZSIC alumina: not GB/T 21 (furniture)
    True
    >>> parse_sector("C2351").scheme  # a letter and four digits outside China: a NACE class without its dot
    'nace2'
    >>> parse_sector("E47").scheme  # NACE 47 is retail trade (section G); GB/T 47 is in 建筑业 E
    'gbt4754'
    >>> parse_sector("C30", scheme="GB/T 4754").scheme
    'gbt4754'
    """
    wanted = _scheme_id(scheme)
    if code is None:
        return None
    given = str(code).strip()
    text = re.sub(r"\s+", "", given).upper()
    dotted = "." in text  # "01." is NACE even once its trailing dot is gone
    text = text.rstrip(".")
    match = _CODE.match(text) if text else None
    if not match or not (match["letter"] or match["digits"]):
        return None
    letter, digits = match["letter"], match["digits"] or ""
    if not digits:  # a section alone
        scheme_id = wanted or "nace2"
        return SectorCode(scheme_id, letter, None, given) if (scheme_id, letter) in _rows() else None
    plain = digits.replace(".", "")
    if len(plain) < 2:
        return None
    china = is_china(country)
    if wanted:
        candidates = [wanted]
    elif dotted:
        candidates = ["nace2"]
    elif len(plain) not in (2, 3, 4):
        return None
    elif letter is None:  # digits alone: a national scheme's; GB/T is China's
        candidates = ["gbt4754"] if china else ["nace2"] if len(plain) == 2 else []
    elif len(plain) == 2:
        candidates = ["nace2", "gbt4754"]  # NACE first; GB/T when only its section letter fits
    else:  # a letter and 3-4 digits: a GB/T 中类 or 小类 in China, a NACE group or class elsewhere
        candidates = ["gbt4754"] if china else ["nace2"]
    division = plain[:2]
    for scheme_id in candidates:
        section = _parent(scheme_id, division)
        if section and (letter is None or letter == section):
            return SectorCode(scheme_id, section, division, given)
    return None


def sector_division(code: str | None, *, scheme: str | None = None, country: str | None = None) -> str | None:
    """The key to group firms by: the division (or the section, for a section alone).

    NACE keys are the section letter and the division ("C23"); GB/T keys carry the scheme ("GB/T
    C26"), because the same letter and digits name different industries in the two schemes.
    ``code``, ``scheme`` and ``country`` are as for :func:`parse_sector`.

    Examples
    --------
    >>> [sector_division(code, country="CN") for code in ("C23.51", "23.5", "01.", "A01", "2621", "C3011", "C", "x")]
    ['C23', 'C23', 'A01', 'A01', 'GB/T C26', 'GB/T C30', 'C', None]
    >>> [sector_division(code, country="AU") for code in ("2131", "C23.5", "C2351")]
    [None, 'C23', 'C23']
    """
    parsed = parse_sector(code, scheme=scheme, country=country)
    if parsed is None:
        return None
    key = parsed.section + (parsed.division or "")
    return _GBT_PREFIX + key if parsed.scheme == "gbt4754" else key


def sector_name(code: str | None, *, scheme: str | None = None, language: str = "en",
                country: str | None = None) -> str | None:
    """The official name of a code's division (or section), from the shipped table.

    Parameters
    ----------
    code, scheme, country
        As for :func:`parse_sector`.
    language : {'en', 'zh', 'both'}
        ``en``: the English title (for GB/T, this project's translation); ``zh``: the Chinese title
        where there is one (GB/T), else the English; ``both``: "中文 (English)" for GB/T.

    Returns
    -------
    str or None
        None when the code cannot be read. An enterprise's own ``sector_name`` (free text), when
        given, is what a page should show; this is the table's name for the code.

    Examples
    --------
    >>> sector_name("C23.51")
    'Manufacture of other non-metallic mineral products'
    >>> sector_name("3011", language="both", country="CN")
    '非金属矿物制品业 (Manufacture of non-metallic mineral products)'
    >>> sector_name("2131", country="AU") is None  # not GB/T 21 (furniture) outside China
    True
    >>> sector_name("nonsense") is None
    True
    """
    if language not in ("en", "zh", "both"):
        raise InputError(f"language must be 'en', 'zh' or 'both', not {language!r}")
    parsed = parse_sector(code, scheme=scheme, country=country)
    if parsed is None:
        return None
    row = _rows()[(parsed.scheme, parsed.division or parsed.section)]
    english, chinese = row["name"] or None, row["name_zh"] or None
    if language == "en":
        return english or chinese
    if language == "zh":
        return chinese or english
    if chinese and english:
        return f"{chinese} ({english})"
    return chinese or english
