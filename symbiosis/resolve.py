"""Resolve the free-text resource names of analysts' files to catalogue codes.

Survey files name a resource as people say it: "process steam", "Cooling Water", "fly-ashes", "FGD gypsum",
"粉煤灰", "脱硫石膏", "Flugasche", or by its EWC code "10 01 02". :class:`ResourceResolver` turns each such
name into a code of the store's ``resources`` table, trying in order (first hit wins; each step on the
text as written, then on :func:`normalise_name` of it):

1. the user's resource map (a CSV ``name,code`` read by :func:`load_resource_map`),
2. a catalogue code ("Fly_Ash" -> ``fly_ash``),
3. a catalogue name ("Process steams" -> ``steam``),
4. a shipped synonym (``datasets/catalogue/synonyms.csv``, read by :func:`load_synonyms`),
5. an EWC code (``10 01 02``, ``100102``, ``10.01.02*``).

Fuzzy similarity is used only to *suggest* codes for a name nothing matched; it never resolves a name
silently, since "bottom ash" and "fly ash" are close as strings and far apart as materials. A step that
finds two codes for one name (two catalogue resources with the same name, an EWC code shared by two
resources) resolves nothing: the result is ambiguous and lists both codes as suggestions.

Examples
--------
>>> resolver = ResourceResolver({"steam": "Process steam", "fly_ash": "Coal fly ash"},
...                             synonyms={"蒸汽": "steam"}, ewc={"10 01 02": "fly_ash"})
>>> resolver.resolve("Process steams").code
'steam'
>>> resolver.resolve("蒸汽")
Resolution(name='蒸汽', code='steam', how='synonym', suggestions=())
>>> resolver.resolve("10.01.02*").code
'fly_ash'
>>> result = resolver.resolve("fly ashh")
>>> result.code is None, result.how, result.suggestions[0][0]
(True, 'unmatched', 'fly_ash')
"""
from __future__ import annotations

import csv
import difflib
import functools
import heapq
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from .errors import InputError, Problem, ValidationError
from .units import KINDS as _KINDS

__all__ = [
    "normalise_name",
    "load_synonyms",
    "load_resource_map",
    "synonyms_path",
    "ResourceMap",
    "ResourceResolver",
    "Resolution",
]

log = logging.getLogger(__name__)

#: ``Resolution.how`` of a name the resource map sends to a code the catalogue does not hold yet
HOW_NEW_CODE = "resource map (new code)"
#: ``Resolution.how`` when nothing matched
HOW_UNMATCHED = "unmatched"
#: suggestions scoring below this are not worth showing
SUGGESTION_CUTOFF = 0.45
#: up to this many names, codes and synonyms every one is scored for a suggestion; above it, the
#: PREFILTER_SIZE forms sharing the most character pairs with the name
EXHAUSTIVE_LIMIT = 3000
PREFILTER_SIZE = 300

# --------------------------------------------------------------------------------------------------
# normalisation

# CJK scripts (radicals, symbols, kana, ideographs, compatibility ideographs, extension planes):
# Chinese has no spaces between words, so spaces next to these characters are dropped.
_CJK = re.compile("[\u2e80-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_APOSTROPHES = dict.fromkeys(map(ord, "'\u2019\u2018\u02bc`\u00b4"), None)
# dotless i has no case partner of its own: fold it like its upper case 'I' does
_SPECIAL_FOLDS = {ord("\u0131"): "i"}
# singular words that end in 's' (words ending in ss, us, is and gas are kept by rule)
_KEEP_AS_IS = frozenset({"molasses", "series", "species", "canvas", "lens", "news", "chassis", "alias", "atlas"})
_PLURAL_ES = ("sses", "shes", "ches", "xes", "zzes")


def _singular(word: str) -> str:
    """Fold a simple English plural (ashes -> ash, tyres -> tyre, gases -> gas, slurries -> slurry).

    Only lower-case ASCII words of four letters or more are folded; every result is a fixed point
    (it ends in y, ss, sh, ch, x, zz, gas or a letter other than s), so folding twice changes nothing.
    """
    if len(word) < 4 or not (word.isascii() and word.isalpha()) or word in _KEEP_AS_IS:
        return word
    if word.endswith(("ss", "us", "is", "gas", "gips")):  # glass, process, biomass, humus, biogas, REA-Gips
        return word
    if word.endswith("ies") and len(word) >= 5:
        return word[:-3] + "y"
    if word.endswith("gases") or word.endswith(_PLURAL_ES):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


_ASCII_SEPARATORS = re.compile(r"[^a-z0-9]+")


def _fold_characters(text: str) -> str:
    if text.isascii():  # the common case, and a fixed point of the full path below
        return _ASCII_SEPARATORS.sub(" ", text.lower().translate(_APOSTROPHES))
    text = unicodedata.normalize("NFKC", text).translate(_SPECIAL_FOLDS).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in decomposed if not unicodedata.combining(char))
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
    # every separator, punctuation mark, symbol or control character becomes a space; letters,
    # digits and ideographs stay
    return "".join(char if unicodedata.category(char)[0] in "LN" else " " for char in text)


@functools.lru_cache(maxsize=65536)
def _normalise(text: str) -> str:
    folded = _fold_characters(text)
    for _ in range(3):  # casefold and NFKD are not closed under each other for a few rare letters
        if folded.isascii():
            break
        again = _fold_characters(folded)
        if again == folded:
            break
        folded = again
    words = [_singular(word) for word in folded.split()]
    if not words:
        return ""
    if folded.isascii():
        return " ".join(words)
    out = [words[0]]
    for word in words[1:]:
        if _CJK.match(word[0]) or _CJK.match(out[-1][-1]):
            out.append(word)  # no space next to Chinese text
        else:
            out.append(" " + word)
    return "".join(out)


def normalise_name(text: str) -> str:
    """The form of a resource name used for matching.

    Lower case (Unicode case folding); full-width forms and sub/superscripts made plain (NFKC); accents
    stripped (NFKD); apostrophes dropped; every other punctuation mark or symbol (underscores, hyphens,
    dots, slashes, brackets, ``&``, ``*``) turned into a space, so parenthesised qualifiers stay as
    words; runs of spaces collapsed and trimmed; simple English plurals folded word by word (ashes ->
    ash, tyres -> tyre, gases -> gas, slurries -> slurry; gas, glass, process, biomass, molasses and
    cullet are left alone); no spaces next to Chinese characters.

    Parameters
    ----------
    text : str
        A resource name or code as written.

    Returns
    -------
    str
        The normalised form; ``""`` if nothing but punctuation and spaces was written. The function is
        idempotent and ignores case.

    Examples
    --------
    >>> normalise_name("  Fly-ASHES ")
    'fly ash'
    >>> normalise_name("End-of-life Tyres (car)")
    'end of life tyre car'
    >>> normalise_name("Biogas"), normalise_name("gases"), normalise_name("Glass cullet")
    ('biogas', 'gas', 'glass cullet')
    >>> normalise_name("ＣＯ₂"), normalise_name("Kühlwasser"), normalise_name("brewer's yeast")
    ('co2', 'kuhlwasser', 'brewer yeast')
    >>> normalise_name("脱硫 石膏（干）")
    '脱硫石膏干'
    """
    if not isinstance(text, str):
        raise TypeError(f"a resource name must be a string, not {type(text).__name__}: {text!r}")
    return _normalise(text)


# European Waste Catalogue codes as people write them: 10 01 02, 100102, 10.01.02, 10-01-02, 10 01 02*
_EWC = re.compile(r"^\s*([0-9]{2})[\s.\-]?([0-9]{2})[\s.\-]?([0-9]{2})\s*\*?\s*$")


def _ewc_key(text: str) -> str | None:
    """``'dd dd dd'`` for a text that is an EWC code, else None."""
    match = _EWC.match(unicodedata.normalize("NFKC", text))
    return " ".join(match.groups()) if match else None


# --------------------------------------------------------------------------------------------------
# reading the synonym list and a user's resource map


def synonyms_path() -> Path | None:
    """The shipped synonym list (``datasets/catalogue/synonyms.csv``), if present."""
    from .datasets import datasets_dir  # the datasets may be missing from an odd installation

    try:
        path = datasets_dir() / "catalogue" / "synonyms.csv"
    except FileNotFoundError:
        return None
    return path if path.is_file() else None


def _read_csv(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(spreadsheet row, {column: stripped text}) of each non-blank row; header checked first."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with handle:
        try:
            reader = csv.reader(handle)
            header = [column.strip().casefold() for column in next(reader, [])]
            missing = [column for column in required if column not in header]
            if missing:
                raise ValidationError([Problem(str(path), 1, None, ",".join(header) or None,
                                               f"a header row with the columns {', '.join(required)} "
                                               f"(missing: {', '.join(missing)})")])
            positions = {column: header.index(column) for column in header}
            for row_number, cells in enumerate(reader, start=2):
                values = {column: (cells[at].strip() if at < len(cells) else "")
                          for column, at in positions.items()}
                if any(values.values()):
                    yield row_number, values
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text (save the CSV as UTF-8)") from None
        except csv.Error as exc:
            raise InputError(f"{path}: not a readable CSV file ({exc})") from None


@functools.lru_cache(maxsize=8)
def _load_synonyms_cached(path: str, _modified_ns: int) -> tuple[tuple[str, str], ...]:
    problems: list[Problem] = []
    seen: dict[str, tuple[str, int]] = {}
    for row, values in _read_csv(Path(path), ("code", "synonym")):
        code, synonym = values["code"], values["synonym"]
        key = normalise_name(synonym)
        if not code:
            problems.append(Problem(path, row, "code", code, "a catalogue code"))
        elif not key:
            problems.append(Problem(path, row, "synonym", synonym, "a name with letters or digits"))
        elif key in seen and seen[key][0] != code:
            other, other_row = seen[key]
            problems.append(Problem(path, row, "synonym", synonym,
                                    f"one synonym for one code: row {other_row} already gives it to {other!r}"))
        else:
            seen.setdefault(key, (code, row))
    if problems:
        raise ValidationError(problems)
    return tuple((key, code) for key, (code, _) in seen.items())


def load_synonyms(path: str | Path | None = None) -> dict[str, str]:
    """Read a synonym list: a CSV with the header ``code,synonym,lang``.

    Parameters
    ----------
    path : path-like, optional
        The file; default the shipped ``datasets/catalogue/synonyms.csv``.

    Returns
    -------
    dict
        ``{normalised synonym: catalogue code}``. Empty (with a warning) if the shipped list is missing.

    Raises
    ------
    InputError
        If the file cannot be read as a UTF-8 CSV.
    ValidationError
        If the header lacks ``code`` or ``synonym``, a row is incomplete, or one synonym (after
        :func:`normalise_name`) is given to two codes: a synonym must mean one thing.
    """
    if path is None:
        path = synonyms_path()
        if path is None:
            log.warning("the shipped synonym list is missing; resource names resolve by code and name only")
            return {}
    path = Path(path)
    try:
        modified = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    return dict(_load_synonyms_cached(str(path), modified))


class ResourceMap(dict):
    """A user's resource map, ``{normalised name: code}``, that remembers where each entry came from.

    Attributes
    ----------
    source : str
        The file it was read from (for error messages).
    rows : dict
        Normalised name -> spreadsheet row of the entry (the header is row 1).
    written : dict
        Normalised name -> the name as written in the file.
    """

    def __init__(self, entries: Mapping[str, str] | Iterable[tuple[str, str]] = (), *,
                 source: str = "resource map", rows: Mapping[str, int] | None = None,
                 written: Mapping[str, str] | None = None):
        super().__init__(entries)
        #: code -> kind (material, waste, energy, water, co2) for codes new to the catalogue, from a 'kind' column
        self.kinds: dict[str, str] = {}
        self.source = source
        self.rows = dict(rows or {})
        self.written = dict(written or {})


def load_resource_map(path: str | Path) -> ResourceMap:
    """Read a user's resource map: a CSV with the header ``name,code`` (other columns are ignored).

    Each row says "a resource written like *name* in my files is catalogue resource *code*"; an optional
    ``kind`` column gives the kind of a code new to the catalogue. A row with an empty code is not mapped
    yet (a draft map's name without a good guess) and is skipped. Whether
    each code exists is checked when the map is given to :class:`ResourceResolver`, which knows the
    catalogue.

    Parameters
    ----------
    path : path-like
        The CSV file (UTF-8; a byte-order mark from Excel is fine).

    Returns
    -------
    ResourceMap
        ``{normalised name: code}``, with the file and row of each entry.

    Raises
    ------
    InputError
        If the file is missing or not a UTF-8 CSV.
    ValidationError
        If the header lacks ``name`` or ``code``, a row lacks one of them, or one name (after
        :func:`normalise_name`) is mapped to two different codes.
    """
    path = Path(path)
    source = str(path)
    problems: list[Problem] = []
    entries: dict[str, str] = {}
    rows: dict[str, int] = {}
    written: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for row, values in _read_csv(path, ("name", "code")):
        name, code = values["name"], values["code"]
        key = normalise_name(name)
        kind = values.get("kind", "").lower()
        if not name or not key:
            problems.append(Problem(source, row, "name", name or None, "a resource name as written in your files"))
        elif not code:
            continue  # not mapped yet (a draft map's row without a good guess): the name stays unmatched
        elif kind and kind not in _KINDS:
            problems.append(Problem(source, row, "kind", kind, f"expected one of {', '.join(_KINDS)}"))
        elif key in entries and entries[key] != code:
            problems.append(Problem(source, row, "name", name,
                                    f"one code per name: row {rows[key]} already maps it to {entries[key]!r}"))
        elif key not in entries:
            entries[key], rows[key], written[key] = code, row, name
            if kind:
                kinds[code] = kind
    if problems:
        raise ValidationError(problems)
    resource_map = ResourceMap(entries, source=source, rows=rows, written=written)
    resource_map.kinds = kinds
    return resource_map


# --------------------------------------------------------------------------------------------------
# resolving


@dataclass(frozen=True)
class Resolution:
    """What one resource name resolved to.

    Attributes
    ----------
    name : str
        The name as written.
    code : str or None
        The catalogue code, or None when nothing (or more than one code) matched.
    how : str
        Which step matched: ``'resource map'``, ``'resource map (new code)'`` (a code the catalogue
        does not hold yet, allowed by the caller), ``'code'``, ``'name'``, ``'synonym'``, ``'ewc'``;
        ``'ambiguous <step>'`` when that step found several codes; or ``'unmatched'``.
    suggestions : tuple of (str, float)
        When unmatched: the closest catalogue codes with a similarity in [0, 1], best first. When
        ambiguous: every code the step found, with score 1.0. Otherwise empty.
    """

    name: str
    code: str | None
    how: str
    suggestions: tuple[tuple[str, float], ...] = ()

    @property
    def matched(self) -> bool:
        """True when the name resolved to one code."""
        return self.code is not None

    @property
    def is_new(self) -> bool:
        """True when the resource map names a code the catalogue does not hold yet."""
        return self.how == HOW_NEW_CODE

    def hint(self) -> str:
        """A short sentence for an error message, e.g. ``did you mean fly_ash (0.93)?``."""
        if self.code is not None:
            return f"{self.name!r} is {self.code} (by {self.how})"
        listed = ", ".join(f"{code} ({score:.2f})" for code, score in self.suggestions)
        if self.how.startswith("ambiguous"):
            return f"{self.name!r} could be any of {listed}: write the code, or add it to a resource map"
        if listed:
            return f"{self.name!r} is not in the catalogue; did you mean {listed}?"
        return f"{self.name!r} is not in the catalogue and nothing there is close"


class _Index:
    """One resolution step: text as written -> codes, and normalised text -> codes."""

    __slots__ = ("exact", "normalised")

    def __init__(self) -> None:
        self.exact: dict[str, tuple[str, ...]] = {}
        self.normalised: dict[str, tuple[str, ...]] = {}

    def add(self, text: str, code: str) -> None:
        for table, key in ((self.exact, text.strip()), (self.normalised, normalise_name(text))):
            if key:
                codes = table.get(key, ())
                if code not in codes:
                    table[key] = codes + (code,)

    def find(self, name: str, normalised: str) -> tuple[str, ...]:
        return self.exact.get(name) or self.exact.get(name.strip()) or self.normalised.get(normalised, ())


class ResourceResolver:
    """Resolves resource names to catalogue codes (see the module docstring for the order of steps).

    Parameters
    ----------
    catalogue : mapping
        ``{code: name}`` of every resource the store holds (the name may be None).
    synonyms : mapping, optional
        ``{synonym: code}``, e.g. from :func:`load_synonyms`; entries whose code is not in the catalogue
        are ignored (a store may hold a reduced catalogue).
    resource_map : mapping, optional
        ``{name: code}``, the user's own names, e.g. from :func:`load_resource_map`. It wins over every
        other step. A code written with other case or separators ("Fly-Ash") is taken as the catalogue
        code it normalises to.
    ewc : mapping, optional
        ``{EWC code: resource code}`` (or a tuple of resource codes where several resources share one
        EWC code, which then resolves to nothing and suggests them all).
    allow_new_codes : bool
        Whether the resource map may name codes the catalogue does not hold; such names resolve with
        ``how='resource map (new code)'`` and the codes are listed in :attr:`new_codes`.

    Raises
    ------
    ValidationError
        If the resource map names a code the catalogue does not hold (and ``allow_new_codes`` is False),
        or maps one name to two codes; each problem gives the map's file, row, column and value.

    Notes
    -----
    Construction normalises every code, name and synonym once (``O(catalogue + synonyms)``); resolving a
    name is a few dictionary look-ups, and only an unmatched name pays for the similarity search.
    """

    def __init__(self, catalogue: Mapping[str, str | None], synonyms: Mapping[str, str] | None = None,
                 resource_map: Mapping[str, str] | None = None,
                 ewc: Mapping[str, str | tuple[str, ...]] | None = None, *, allow_new_codes: bool = False):
        self.catalogue: dict[str, str | None] = dict(catalogue)
        self._codes = _Index()
        self._names = _Index()
        self._synonyms = _Index()
        self._map = _Index()
        self._ewc: dict[str, tuple[str, ...]] = {}
        self._candidates: list[tuple[str, str, str, frozenset[str]]] | None = None  # built on first suggestion
        for code, name in self.catalogue.items():
            self._codes.add(code, code)
            if name:
                self._names.add(name, code)
        for synonym, code in (synonyms or {}).items():
            if code in self.catalogue:
                self._synonyms.add(synonym, code)
        for ewc_code, codes in (ewc or {}).items():
            key = _ewc_key(ewc_code)
            codes = (codes,) if isinstance(codes, str) else tuple(codes)
            known = tuple(code for code in codes if code in self.catalogue)
            if key and known:
                self._ewc[key] = tuple(dict.fromkeys(self._ewc.get(key, ()) + known))
        self.new_codes: frozenset[str] = self._add_resource_map(resource_map or {}, allow_new_codes)
        self._candidates = None  # the map's names are candidates too
        self._steps = (("resource map", self._map), ("code", self._codes), ("name", self._names),
                       ("synonym", self._synonyms))

    def _add_resource_map(self, resource_map: Mapping[str, str], allow_new_codes: bool) -> frozenset[str]:
        from_file = resource_map if isinstance(resource_map, ResourceMap) else None
        source = from_file.source if from_file is not None else "resource map"
        problems: list[Problem] = []
        new_codes: set[str] = set()
        by_key: dict[str, str] = {}
        for position, (name, written_code) in enumerate(resource_map.items(), start=1):
            name_written = from_file.written.get(name, name) if from_file is not None else name
            row = from_file.rows.get(name) if from_file is not None else None
            code = str(written_code).strip()
            if code not in self.catalogue:
                same = self._codes.normalised.get(normalise_name(code), ())
                if len(same) == 1:
                    code = same[0]  # "Fly-Ash" -> fly_ash
                elif allow_new_codes and code:
                    new_codes.add(code)
                else:
                    close = ", ".join(c for c, _ in self.suggest(code, n=3))
                    where = f" (entry {position})" if row is None else ""
                    problems.append(Problem(source, row, "code", code,
                                            f"a code of the resource catalogue{where}"
                                            + (f"; closest: {close}" if close else "")
                                            + "; add the resource first, or allow new resources"))
                    continue
            key = normalise_name(name_written)
            if key in by_key and by_key[key] != code:
                problems.append(Problem(source, row, "name", name_written,
                                        f"one code per name: it is also mapped to {by_key[key]!r}"))
                continue
            by_key[key] = code
            self._map.add(name_written, code)
        if problems:
            raise ValidationError(problems)
        return frozenset(new_codes)

    @classmethod
    def from_store(cls, db, *, resource_map: Mapping[str, str] | None = None,
                   synonyms: Mapping[str, str] | None = None, allow_new_codes: bool = False) -> "ResourceResolver":
        """A resolver over the store's ``resources`` table (shipped catalogue plus the user's own).

        Parameters
        ----------
        db : sqlite_utils.Database or sqlite3.Connection
            An open store.
        resource_map : mapping, optional
            The user's ``{name: code}`` map (see :func:`load_resource_map`).
        synonyms : mapping, optional
            Default: the shipped synonym list.
        allow_new_codes : bool
            See :class:`ResourceResolver`.
        """
        rows = db.execute("SELECT code, name, ewc_code FROM resources").fetchall()
        ewc: dict[str, tuple[str, ...]] = {}
        for code, _, ewc_code in rows:
            key = _ewc_key(ewc_code) if ewc_code else None
            if key:
                ewc[key] = ewc.get(key, ()) + (code,)
        return cls({code: name for code, name, _ in rows}, load_synonyms() if synonyms is None else synonyms,
                   resource_map, ewc, allow_new_codes=allow_new_codes)

    def resolve(self, name: str) -> Resolution:
        """Resolve one name (see the module docstring for the order of steps).

        Parameters
        ----------
        name : str
            A resource name, code or EWC code as written.

        Returns
        -------
        Resolution
        """
        normalised = normalise_name(name)
        if not normalised:
            return Resolution(name, None, HOW_UNMATCHED)
        for how, index in self._steps:
            codes = index.find(name, normalised)
            if codes:
                return self._decide(name, codes, how)
        ewc_key = _ewc_key(name)
        if ewc_key and ewc_key in self._ewc:
            return self._decide(name, self._ewc[ewc_key], "ewc")
        return Resolution(name, None, HOW_UNMATCHED, tuple(self.suggest(name)))

    def _decide(self, name: str, codes: tuple[str, ...], how: str) -> Resolution:
        if len(codes) > 1:
            return Resolution(name, None, f"ambiguous {how}", tuple((code, 1.0) for code in codes))
        code = codes[0]
        if how == "resource map" and code in self.new_codes:
            how = HOW_NEW_CODE
        return Resolution(name, code, how)

    def resolve_many(self, names: Iterable[str]) -> dict[str, Resolution]:
        """Resolve each distinct name once.

        Parameters
        ----------
        names : iterable of str
            E.g. a file's ``resource_code`` column (a million rows hold a few distinct names).

        Returns
        -------
        dict
            ``{name as written: Resolution}`` in order of first appearance.
        """
        results: dict[str, Resolution] = {}
        for name in names:
            if name not in results:
                results[name] = self.resolve(name)
        return results

    def _suggestion_candidates(self) -> list[tuple[str, str, str, frozenset[str]]]:
        """(normalised text, its words sorted, code, character bigrams) of every code, name and synonym."""
        if self._candidates is None:
            seen: set[tuple[str, str]] = set()
            candidates = []
            for index in (self._codes, self._names, self._synonyms, self._map):
                for text, codes in index.normalised.items():
                    for code in codes:
                        if code in self.catalogue and (text, code) not in seen:
                            seen.add((text, code))
                            candidates.append((text, " ".join(sorted(text.split())), code, _bigrams(text)))
            self._candidates = candidates
        return self._candidates

    def suggest(self, name: str, n: int = 3) -> list[tuple[str, float]]:
        """The catalogue codes whose code, name or synonyms are most like ``name``.

        Similarity is :class:`difflib.SequenceMatcher`'s ratio on normalised text (also with the words
        sorted, so that "steam process" finds "process steam"), the best over each code's forms. It is
        for showing a user, never for resolving. Above ``EXHAUSTIVE_LIMIT`` forms, only the forms sharing
        the most character pairs with the name are scored (a cheap set intersection narrows 20,000 forms
        to a few hundred before the quadratic matcher runs).

        Parameters
        ----------
        name : str
            A name as written.
        n : int
            How many codes at most.

        Returns
        -------
        list of (str, float)
            ``(code, similarity in [0, 1])``, best first, ties by code; only codes scoring at least
            ``SUGGESTION_CUTOFF``.
        """
        query = normalise_name(name)
        if not query or n <= 0:
            return []
        candidates = self._suggestion_candidates()
        if len(candidates) > EXHAUSTIVE_LIMIT:
            query_bigrams = _bigrams(query)
            size = len(query_bigrams)
            candidates = heapq.nlargest(
                PREFILTER_SIZE, candidates,
                key=lambda candidate: len(query_bigrams & candidate[3]) / (size + len(candidate[3])))
        query_sorted = " ".join(sorted(query.split()))
        matcher = difflib.SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(query)
        sorted_matcher = difflib.SequenceMatcher(None, autojunk=False)
        sorted_matcher.set_seq2(query_sorted)
        scores: dict[str, float] = {}
        threshold = SUGGESTION_CUTOFF  # the n-th best score so far: weaker forms are skipped cheaply
        for text, text_sorted, code, _ in candidates:
            floor = max(threshold, scores.get(code, 0.0))
            score = _ratio_at_least(matcher, text, floor)
            if query_sorted != query or text_sorted != text:  # word order differs: compare sorted words too
                score = max(score, _ratio_at_least(sorted_matcher, text_sorted, max(floor, score)))
            if score >= floor and score > scores.get(code, -1.0):
                scores[code] = score
                if len(scores) >= n:
                    threshold = max(SUGGESTION_CUTOFF, heapq.nlargest(n, scores.values())[-1])
                    if len(scores) > 4 * n:
                        scores = {kept: value for kept, value in scores.items() if value >= threshold}
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:n]
        return [(code, round(score, 3)) for code, score in ranked]


def _bigrams(text: str) -> frozenset[str]:
    padded = f" {text} "
    return frozenset(padded[at:at + 2] for at in range(len(padded) - 1))


def _ratio_at_least(matcher: difflib.SequenceMatcher, text: str, floor: float) -> float:
    """The matcher's ratio of ``text`` against its fixed sequence, or 0.0 when it cannot reach ``floor``."""
    matcher.set_seq1(text)
    if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
        return 0.0
    return matcher.ratio()
