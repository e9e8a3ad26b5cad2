import math

import pytest

from symbiosis.errors import UnitError
from symbiosis.units import CANONICAL_UNIT, conversion_factor, convert


@pytest.mark.parametrize(
    ("value", "unit", "kind", "expected"),
    [
        (2.5, "kt/yr", "material", 2500.0),
        (3, "Mt", "waste", 3e6),
        (1, "kt", "material", 1000.0),  # a kilotonne, not a knot
        (100, "GJ/yr", "energy", 100 / 3.6),
        (1, "TJ", "energy", 1e6 / 3600),
        (1, "PJ/yr", "energy", 1e9 / 3600),
        (10, "kWh/d", "energy", 10 * 365.25 / 1000),
        (1, "MW", "energy", 8766.0),  # a continuous rate over pint's 365.25-day year
        (5, "m³", "water", 5.0),
        (5, "m3/d", "water", 5 * 365.25),
        (2, "million m3", "water", 2e6),
        (7, "t", "water", 7.0),  # water by mass at 1 t/m3
        (1, "tce", "energy", 29.3076 / 3.6),
        (4, "tCO2e", "co2", 4.0),
        (4, "ktCO2e/yr", "co2", 4000.0),
        (500, "kg CO2e", "co2", 0.5),
        (3, "万吨", "material", 30000.0),
        (3, "1e4 t", "material", 30000.0),
        (2, "t/h", "material", 2 * 8766.0),
        # units as real sources write them (Chinese yearbooks, Australian and German reports)
        (3, "万吨/年", "material", 30000.0),
        (40, "吨/年", "waste", 40.0),
        (2, "万立方米/年", "water", 20000.0),
        (5, "亿千瓦时", "energy", 5e8 / 1000),
        (120, "tpa", "material", 120.0),
        (1.5, "Mtpa", "material", 1.5e6),
        (300, "ktpa", "material", 3e5),
        (8, "t/a", "material", 8.0),
        (1, "tonnes per annum", "waste", 1.0),
        (1, "t p.a.", "waste", 1.0),
        (1, "Nm3", "water", 1.0),
        (2, "GWh", "energy", 2000.0),
        (36, "TJ/a", "energy", 10000.0),
        (1, "ML/d", "water", 1000 * 365.25),
        (3, "GL/yr", "water", 3e6),
        (3.5, "mio. m3/år", "water", 3.5e6),  # Danish
        (2, "t/Jahr", "material", 2.0),
        (1, "t/døgn", "material", 365.25),
        (5, "만톤/년", "material", 5e4),  # Korean
        (7, "톤/년", "waste", 7.0),
        (4, "m3/annum", "water", 4.0),
    ],
)
def test_conversions_to_canonical_units(value, unit, kind, expected):
    assert convert(value, unit, kind) == pytest.approx(expected, rel=1e-9)


def test_canonical_units_per_kind():
    assert CANONICAL_UNIT == {"material": "t/yr", "waste": "t/yr", "energy": "MWh/yr",
                              "water": "m3/yr", "co2": "tCO2e/yr"}


def test_fuel_mass_and_volume_become_energy_through_energy_content():
    assert conversion_factor("kt", "energy", energy_mwh_per_t=7.0) == pytest.approx(7000.0)
    assert conversion_factor("Nm3", "energy", energy_mwh_per_m3=0.0108) == pytest.approx(0.0108)


@pytest.mark.parametrize(
    ("unit", "kind", "message"),
    [
        ("t", "energy", "cannot measure a flow of kind 'energy'"),  # tonnes on an energy flow
        ("MWh", "material", "cannot measure a flow of kind 'material'"),
        ("m3", "waste", "cannot measure"),
        ("tCO2", "material", "CO2 unit"),
        ("bananas", "material", "unknown unit"),
        ("Mm3", "water", "ambiguous"),
        ("m", "material", "not an amount or a rate"),
        ("t", "plasma", "unknown kind"),
    ],
)
def test_incompatible_or_unknown_units_are_errors(unit, kind, message):
    with pytest.raises(UnitError, match=message):
        conversion_factor(unit, kind)


def test_unit_error_is_a_value_error():
    with pytest.raises(ValueError):
        conversion_factor("t", "energy")
    assert not math.isnan(conversion_factor("t", "material"))
