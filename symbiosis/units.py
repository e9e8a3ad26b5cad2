"""Units: every quantity is converted once, at import, to the canonical unit of its kind.

Canonical units (per year, since park data are annual accounts):

========  ==========  ===============
kind      currency    canonical unit
========  ==========  ===============
material  mass        t/yr
waste     mass        t/yr
energy    energy      MWh/yr
water     water       m3/yr
co2       co2         tCO2e/yr
========  ==========  ===============

Conversions use `pint <https://pint.readthedocs.io>`_ with a few additions that industrial data need:
``kt`` is a kilotonne (pint alone reads it as a knot), ``tce``/``toe`` are tonnes of coal/oil equivalent,
``Nm3`` is a normal cubic metre, ``万`` is 10^4 and ``吨`` a tonne. A unit without a time part is taken
as per year; a rate (``t/h``, ``kWh/d``, ``MW``) is extended to a year of 365.25 days (pint's year).
A fuel given by mass or volume becomes MWh through the resource's energy content; water given by mass
becomes m3 at 1 t/m3. Anything else of the wrong dimension raises :class:`UnitError`.

Unit text is untrusted: before pint evaluates it, it is held to :data:`MAX_UNIT_CHARS` characters,
every power to a small plain number (``m**3``, ``10^6 t``; never ``10**10**10``, which would run for
hours), and a scale (``1e4 t``, ``万吨``) to :data:`MIN_SCALE` .. :data:`MAX_SCALE`.
"""
from __future__ import annotations

import functools
import math
import re
from types import SimpleNamespace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pint

from .errors import UnitError

__all__ = [
    "KINDS",
    "CANONICAL_UNIT",
    "CURRENCY",
    "HEAT",
    "SCOPE2_CARRIERS",
    "chain_group",
    "conversion_factor",
    "convert",
    "parse_unit",
    "MAX_UNIT_CHARS",
    "MAX_EXPONENT",
    "MIN_SCALE",
    "MAX_SCALE",
]

#: the longest unit text read ('thousand tonnes CO2-e per annum' has 31 characters)
MAX_UNIT_CHARS = 64
#: the largest power a unit may raise to (m**3 needs 3; 10**12 t needs 12)
MAX_EXPONENT = 24
#: the range of a number written in a unit ('1e4 t', 'million m3', '万吨'): beyond it, a typo
MIN_SCALE, MAX_SCALE = 1e-15, 1e15

KINDS = ("material", "waste", "energy", "water", "co2")
CANONICAL_UNIT = {
    "material": "t/yr",
    "waste": "t/yr",
    "energy": "MWh/yr",
    "water": "m3/yr",
    "co2": "tCO2e/yr",
}
#: what is summed with what: mass, energy, water and CO2 are never added together
CURRENCY = {"material": "mass", "waste": "mass", "energy": "energy", "water": "water", "co2": "co2"}
#: heat carriers (catalogue codes): they go by pipe, within a heat network's reach, and are one by-product
#: along a chain (steam in, hot water out of a district-heating plant)
HEAT = frozenset({"steam", "district_heat", "waste_heat"})
#: energy bought that scope 2 covers (GHG Protocol Scope 2 Guidance: electricity, steam, heat, cooling);
#: fuels bought are burned on site, in scope 1
SCOPE2_CARRIERS = ("electricity", "steam", "district_heat", "waste_heat")


def chain_group(resource: str) -> str:
    """The by-product a resource is along a chain of exchanges: heat carriers are one, else itself.

    Examples
    --------
    >>> chain_group("steam") == chain_group("district_heat"), chain_group("scrap_steel")
    (True, 'scrap_steel')
    """
    return "heat" if resource in HEAT else resource


@functools.lru_cache(maxsize=1)
def _pint() -> SimpleNamespace:
    """The unit registry and the canonical amounts, built on first use: pint takes a fifth of a second
    to load, which the kinds, currencies and names of this module (read by every command's options) need not."""
    import pint

    ureg: pint.UnitRegistry = pint.UnitRegistry(on_redefinition="ignore", cache_folder=None)
    # Industrial usage first: 'kt' is a kilotonne here, never a knot.
    ureg.define("kt = kilotonne")
    ureg.define("tce = 29.3076 GJ")  # tonne of standard coal equivalent (GB/T 2589-2020)
    ureg.define("toe = 41.868 GJ")  # tonne of oil equivalent (IEA)
    ureg.define("ktce = 1000 tce")
    ureg.define("Mtce = 1e6 tce")
    mass, volume, energy = (ureg.Unit(name).dimensionality for name in ("t", "m**3", "MWh"))
    # canonical annual amounts (the stored figure is this amount per year)
    canonical = {"mass": ureg.Unit("t"), "energy": ureg.Unit("MWh"), "water": ureg.Unit("m**3"), "co2": ureg.Unit("t")}
    return SimpleNamespace(ureg=ureg, canonical=canonical, mass=mass, volume=volume, energy=energy,
                           amounts=(mass, volume, energy))

_CO2_TAG = re.compile(r"\s*(?:CO2-e(?![a-z])|CO2e|CO2-eq|CO2eq|CO₂e|CO₂|CO2)\b", re.IGNORECASE)
# Words and abbreviations of real sources, rewritten to what pint reads. Order matters: longer first
# (万吨 before 吨 before 万). Latin words only at word boundaries ('tpa' is not inside 'kW tpa...').
_WORDS = (
    # Korean: 만 is 10^4 as in Chinese; 톤 tonne, 년 year, 일 day, 시간 hour
    ("만톤", "1e4 t"), ("천톤", "1e3 t"), ("톤", "t"), ("킬로와트시", "kWh"), ("메가와트시", "MWh"),
    ("세제곱미터", "m**3"), ("년", "yr"), ("시간", "h"), ("일", "d"),
    ("万立方米", "1e4 m**3"), ("立方米", "m**3"), ("万吨", "1e4 t"), ("千吨", "1e3 t"), ("吨", "t"),
    ("兆瓦时", "MWh"), ("千瓦时", "kWh"), ("吉焦", "GJ"), ("万", "1e4 "), ("亿", "1e8 "),
    ("每年", "/yr"), ("年", "yr"), ("每天", "/d"), ("天", "d"), ("日", "d"), ("小时", "h"),
)
_LATIN_WORDS = (
    (r"Mtpa", "Mt/yr"), (r"ktpa", "kt/yr"), (r"tpa", "t/yr"), (r"tpd", "t/d"), (r"tph", "t/h"),
    (r"thousand", "1e3"), (r"million", "1e6"), (r"billion", "1e9"),
    (r"tonnes", "t"), (r"tonne", "t"), (r"tons", "t"), (r"ton", "t"), (r"metric", ""),
    (r"per (?:year|annum)", "/yr"), (r"per day", "/d"), (r"per hour", "/h"),
    (r"p\.\s?a\.?", "/yr"), (r"annum", "yr"),
    # Danish, Norwegian, Swedish, German: år/ar/Jahr a year, døgn/Tag a day, mio./mia./Mrd. 10^6 and 10^9
    (r"mio\.?", "1e6"), (r"mill\.?", "1e6"), (r"mia\.?", "1e9"), (r"mrd\.?", "1e9"), (r"tsd\.?", "1e3"),
    (r"år", "yr"), (r"jahr", "yr"), (r"døgn", "d"), (r"dygn", "d"), (r"tag", "d"), (r"tons?", "t"),
)
_LATIN = [(re.compile(rf"(?<![A-Za-zÀ-ÿ]){word}(?![A-Za-zÀ-ÿ])", re.IGNORECASE), replacement)
          for word, replacement in _LATIN_WORDS]
_SLASH_A = re.compile(r"/\s*a\b")  # t/a, TJ/a: per annum
_CUBIC = re.compile(r"(?<![A-Za-z])(N|n|k|c|d)?m(?:3|³|\^3|\*\*3)(?![0-9A-Za-z])")
_AMBIGUOUS_CUBIC = re.compile(r"(?<![A-Za-z])(M|MM|Mio\.?\s*)m(?:3|³)(?![0-9A-Za-z])")


_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUPERSCRIPT_RUN = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+")
_POWER = re.compile(r"\*\*|\^")
#: what may follow a power: a small plain number, not itself raised to a power ('10**10**10')
_SMALL_EXPONENT = re.compile(r"\s*\(?\s*[-+]?\d{1,2}(?:\.\d{1,3})?\s*\)?(?![\d.]|[eE][-+]?\d|\s*(?:\*\*|\^))")


def _check_powers(original: str, text: str) -> None:
    """Refuse a power pint would spend unbounded time on, before pint sees it."""
    for match in _POWER.finditer(text):
        small = _SMALL_EXPONENT.match(text, match.end())
        exponent = small[0].strip(" ()") if small else ""
        if not small or abs(float(exponent)) > MAX_EXPONENT:
            raise UnitError(f"unit {original!r}: a power must be a plain number up to {MAX_EXPONENT} "
                            "(like m**3 or 10^6 t), never a power of a power")


def _normalise(text: str) -> str:
    if _AMBIGUOUS_CUBIC.search(text):
        raise UnitError(
            f"unit {text!r} is ambiguous (Mm3 means million m3 to some, thousand m3 to others, and a cubic "
            "megametre to pint): write '1e6 m3' or 'million m3'"
        )
    for word, replacement in _WORDS:
        text = text.replace(word, replacement)
    for pattern, replacement in _LATIN:
        text = pattern.sub(replacement, text)
    text = _SLASH_A.sub("/yr", text)
    text = re.sub(r"/\s*/", "/", text)  # 't p.a.' became 't /yr'; 't//yr' never means anything else

    def cubic(match: re.Match) -> str:
        prefix = match.group(1) or ""
        # Nm3 (normal cubic metre) is a volume at reference conditions: a cubic metre of gas.
        return {"": "m**3", "N": "m**3", "n": "m**3", "k": "km**3", "c": "cm**3", "d": "dm**3"}[prefix]

    text = _CUBIC.sub(cubic, text)
    # km², 10⁶ t: written out as powers, so that the guard on powers sees them
    return _SUPERSCRIPT_RUN.sub(lambda match: "**" + match[0].translate(_SUPERSCRIPTS), text).strip()


@functools.lru_cache(maxsize=4096)
def parse_unit(text: str, kind: str | None = None) -> pint.Unit:
    """Parse a unit as written in a data file.

    Parameters
    ----------
    text : str
        The unit, e.g. ``"kt/yr"``, ``"GJ"``, ``"m³/d"``, ``"tCO2e"``.
    kind : str, optional
        The flow's kind; a CO2 tag (``tCO2e``) is accepted only for kind ``co2``.

    Returns
    -------
    pint.Unit

    Raises
    ------
    UnitError
        If the text is not a unit pint can read.
    """
    original = text
    if len(text) > MAX_UNIT_CHARS:
        raise UnitError(f"unit {text[:MAX_UNIT_CHARS]!r}... is longer than {MAX_UNIT_CHARS} characters: "
                        "not a unit")
    if _CO2_TAG.search(text):
        if kind not in (None, "co2"):
            raise UnitError(f"unit {original!r} is a CO2 unit, but the flow's kind is {kind!r}")
        text = _CO2_TAG.sub("", text)
    text = _normalise(text)
    if not text:
        raise UnitError(f"unit {original!r} names no unit")
    _check_powers(original, text)
    ureg = _pint().ureg
    try:
        parsed = ureg.parse_expression(text)
    except Exception as exc:  # pint raises several types (UndefinedUnitError, tokenize errors, ...)
        raise UnitError(f"unknown unit {original!r} ({exc})") from None
    if isinstance(parsed, (int, float)) or parsed.dimensionless:
        raise UnitError(f"unit {original!r} names no unit (a bare number)")
    # '1e4 t' parses to a Quantity: fold its magnitude into a scaled unit.
    if parsed.magnitude != 1:
        scale = float(parsed.magnitude)
        if not math.isfinite(scale) or scale <= 0:
            raise UnitError(f"unit {original!r} has a scale that is not a positive number")
        if not MIN_SCALE <= scale <= MAX_SCALE:
            raise UnitError(f"unit {original!r} has a scale of {scale:g}, outside {MIN_SCALE:g} to {MAX_SCALE:g}")
        name = f"_scaled_{abs(hash((text, scale)))}"
        try:
            ureg.define(f"{name} = {scale!r} * {parsed.units}")
            return ureg.Unit(name)
        except Exception as exc:  # pint's own errors vary by input
            raise UnitError(f"unknown unit {original!r} ({exc})") from None
    return parsed.units


@functools.lru_cache(maxsize=4096)
def conversion_factor(
    unit: str,
    kind: str,
    *,
    energy_mwh_per_t: float | None = None,
    energy_mwh_per_m3: float | None = None,
) -> float:
    """Factor that turns a value in ``unit`` into the canonical unit of ``kind``.

    Parameters
    ----------
    unit : str
        The unit as written (``"kt/yr"``, ``"TJ"``, ``"kWh/d"``, ``"m³"``, ``"tce"`` ...).
    kind : {'material', 'waste', 'energy', 'water', 'co2'}
        The flow's kind; it fixes the canonical unit (:data:`CANONICAL_UNIT`).
    energy_mwh_per_t, energy_mwh_per_m3 : float, optional
        Energy content of the resource, used when an energy flow is given by mass or volume.

    Returns
    -------
    float
        ``canonical_value = value * factor``.

    Raises
    ------
    UnitError
        Unknown unit, or a unit of the wrong dimension for the kind (tonnes on an energy flow
        whose resource has no energy content).

    Examples
    --------
    >>> conversion_factor("kt/yr", "material")
    1000.0
    >>> round(conversion_factor("TJ", "energy"), 3)
    277.778
    """
    if kind not in CURRENCY:
        raise UnitError(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    currency = CURRENCY[kind]
    parsed = parse_unit(unit, kind)
    units = _pint()
    year = units.ureg.Unit("year")
    # A unit without a time part is an annual amount; a rate (t/h, MW) is multiplied by a year.
    if parsed.dimensionality in units.amounts:
        amount = units.ureg.Quantity(1.0, parsed)
    elif (parsed * year).dimensionality in units.amounts:
        amount = units.ureg.Quantity(1.0, parsed) * units.ureg.Quantity(1.0, year)
    else:
        raise UnitError(
            f"unit {unit!r} ({_describe(parsed.dimensionality)}) is not an amount or a rate of "
            f"mass, volume or energy; expected a unit like {CANONICAL_UNIT[kind]}"
        )
    dims = amount.dimensionality
    target = units.canonical[currency]
    if dims == target.dimensionality:
        return float(amount.to(target).magnitude)
    if currency == "energy" and dims == units.mass and energy_mwh_per_t:
        return float(amount.to("t").magnitude) * float(energy_mwh_per_t)
    if currency == "energy" and dims == units.volume and energy_mwh_per_m3:
        return float(amount.to("m**3").magnitude) * float(energy_mwh_per_m3)
    if currency == "water" and dims == units.mass:
        return float(amount.to("t").magnitude)  # water: 1 t = 1 m3
    hint = ""
    if currency == "energy" and dims in (units.mass, units.volume):
        hint = " (the resource has no energy content per tonne or m3 in the catalogue)"
    raise UnitError(
        f"unit {unit!r} ({_describe(dims)}) cannot measure a flow of kind {kind!r}; "
        f"expected {_describe(target.dimensionality)} like {CANONICAL_UNIT[kind]}{hint}"
    )


def _describe(dims) -> str:
    units = _pint()
    names = {units.mass: "a mass", units.volume: "a volume", units.energy: "an energy"}
    return names.get(dims, f"dimension {dims}")


def convert(value: float, unit: str, kind: str, **energy_content: float | None) -> float:
    """Convert one value to the canonical unit of ``kind`` (see :func:`conversion_factor`).

    Examples
    --------
    >>> convert(2.5, "kt", "waste")
    2500.0
    """
    return value * conversion_factor(unit, kind, **energy_content)
