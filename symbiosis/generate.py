"""A synthetic national dataset of Chinese industrial parks, in the tool's own CSV format.

:func:`generate_dataset` writes ``parks.csv``, ``enterprises.csv``, ``flows.csv``, ``offers.csv``,
``demands.csv``, ``emissions.csv``, ``energy_use.csv`` and ``offsets.csv`` into a folder: by default
2,543 parks, 250,000 firms and 1,000,000 flows, for benchmarks and for trying the analyses at national
scale. Everything is SYNTHETIC: the parks are not real parks and no figure is a measurement.

How the data are made (all vectorised numpy; the same seed gives byte-identical files):

- Parks lie around about 30 provincial industrial centres, weighted towards the east coast and the
  Yangtze and Pearl River deltas; ``region`` is the province. Park sizes are skewed (lognormal): a few
  parks hold hundreds of firms, many hold a few dozen. Each park has a profile (chemical, metallurgy,
  building materials, light industry, high-tech, circular economy, comprehensive) that tilts its sector
  mix; a park of three firms or more has a central heat or power plant, one of five or more a
  wastewater plant, as Chinese parks usually do.
- Firms carry NACE Rev. 2 sector codes (the codes of ``datasets/factors/resource_sectors.csv``) and
  lognormal output value and staff by sector, and sit within a few km of their park's centre.
- Flows: about 87.5 % between firms of the same park, 6.5 % to a firm of a park within 150 km, 6 %
  across the boundary (imports; exports to landfill, air, sewer, grid or market). The resource is one the
  source's sector typically gives; the target is, where the park has one, a firm whose sector typically
  takes it. Quantities are lognormal in the resource's canonical unit (a few % written in other units such
  as kt/yr, GJ/yr or a fuel's tonnes, to exercise conversion), and about 5 % are unknown (left empty).
- Offers and demands (about 0.3 per firm each) come from the sector's typical outputs and inputs
  (demands include the virgin supplies that by-products substitute: clinker, natural gypsum, fresh
  water, district heat, natural gas ...). Emissions: one row per firm; energy use: 1-3 carriers per firm,
  renewable by a park-level share between 5 and 80 %; offsets for about a quarter of the parks.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .datasets import catalogue_path
from .errors import InputError, ShippedDataError
from .geo import EARTH_RADIUS_KM, haversine_km, unit_vectors
from .units import CANONICAL_UNIT

__all__ = ["generate_dataset", "SECTORS", "PROVINCES"]

YEAR = 2024
#: share of flows between firms of one park, between firms of nearby parks; the rest cross the boundary
SHARE_SAME_PARK = 0.875
SHARE_NEARBY_PARK = 0.065
NEARBY_KM = 150.0
NEIGHBOURS = 8
ROAD_FACTOR = 1.3  # road distance / great-circle distance
SHARE_UNKNOWN_QUANTITY = 0.05
SHARE_OTHER_UNIT = 0.04

# --------------------------------------------------------------------------------------------------
# provinces: (name, lat, lon, spread lat deg, spread lon deg, weight ~ number of industrial parks,
# heavy-industry province). Centres are the main industrial area, not always the capital.
PROVINCES: tuple[tuple[str, float, float, float, float, float, bool], ...] = (
    ("Beijing", 39.90, 116.40, 0.25, 0.30, 2.0, False),
    ("Tianjin", 39.10, 117.30, 0.25, 0.25, 3.0, False),
    ("Hebei", 38.60, 115.60, 1.10, 1.00, 6.0, True),
    ("Shanxi", 37.70, 112.50, 1.10, 0.70, 3.5, True),
    ("Inner Mongolia", 40.70, 110.50, 0.90, 3.50, 3.0, True),
    ("Liaoning", 41.60, 122.80, 0.80, 1.10, 4.5, True),
    ("Jilin", 43.80, 125.50, 0.80, 1.00, 2.0, False),
    ("Heilongjiang", 45.90, 127.00, 1.00, 1.60, 2.0, False),
    ("Shanghai", 31.20, 121.45, 0.20, 0.25, 3.0, False),
    ("Jiangsu", 32.30, 119.90, 0.80, 0.80, 10.0, False),
    ("Zhejiang", 29.90, 120.40, 0.70, 0.70, 8.0, False),
    ("Anhui", 31.70, 117.40, 0.90, 0.70, 5.0, False),
    ("Fujian", 25.60, 118.60, 0.80, 0.70, 4.0, False),
    ("Jiangxi", 28.30, 115.80, 1.00, 0.80, 4.0, False),
    ("Shandong", 36.40, 118.50, 0.90, 1.40, 9.0, True),
    ("Henan", 34.50, 113.70, 0.90, 1.00, 5.5, True),
    ("Hubei", 30.80, 113.50, 0.80, 1.30, 4.5, False),
    ("Hunan", 27.80, 112.70, 1.00, 0.90, 4.0, False),
    ("Guangdong", 23.00, 113.40, 0.60, 1.00, 9.0, False),
    ("Guangxi", 23.30, 108.80, 1.00, 1.20, 3.0, False),
    ("Hainan", 19.90, 110.00, 0.35, 0.50, 0.8, False),
    ("Chongqing", 29.70, 106.70, 0.50, 0.70, 3.0, False),
    ("Sichuan", 30.50, 104.30, 0.90, 0.90, 4.0, False),
    ("Guizhou", 26.70, 106.60, 0.80, 1.00, 2.0, False),
    ("Yunnan", 25.10, 102.80, 1.00, 1.10, 2.0, False),
    ("Tibet", 29.60, 91.20, 0.40, 1.00, 0.2, False),
    ("Shaanxi", 34.60, 108.90, 1.10, 0.80, 3.0, True),
    ("Gansu", 37.00, 103.50, 1.30, 2.00, 1.5, True),
    ("Qinghai", 36.60, 101.80, 0.50, 1.00, 0.6, True),
    ("Ningxia", 38.30, 106.30, 0.60, 0.40, 1.2, True),
    ("Xinjiang", 43.50, 86.00, 1.50, 4.00, 2.0, True),
)
_LAT_RANGE = (18.2, 48.0)
_LON_RANGE = (75.0, 134.0)


@dataclass(frozen=True)
class Sector:
    """One sector of the synthetic economy.

    Quantities are for a firm of median size, in the resource's canonical unit a year (t, MWh, m3,
    tCO2e); a firm's figures scale with its output value against the sector median.
    """

    code: str  # NACE Rev. 2
    name: str
    short: str  # for firm names
    weight: float  # share of firms in a 'comprehensive' park (relative)
    output_mcny: float  # median output value, million CNY/yr
    employees: float  # median staff
    scope1_t: float  # median scope-1 emissions, tCO2e/yr
    scope2_t: float  # median scope-2 emissions, tCO2e/yr
    propensity: float  # how many exchanges a firm of this sector takes part in (relative)
    outputs: dict  # resource -> (weight, median quantity)
    inputs: dict  # resource -> (weight, median quantity)
    carriers: dict  # energy carrier -> (weight, median MWh/yr)


def _s(code, name, short, weight, output, staff, scope1, scope2, propensity, outputs, inputs, carriers):
    return Sector(code, name, short, weight, output, staff, scope1, scope2, propensity, outputs, inputs, carriers)


SECTORS: tuple[Sector, ...] = (
    _s("D35.11", "Production of electricity (coal-fired power plant)", "Thermal Power", 0.54, 1000, 350, 6e5, 4e3, 10,
       {"fly_ash": (0.18, 7e4), "bottom_ash": (0.06, 1.2e4), "fgd_gypsum": (0.12, 2.5e4), "steam": (0.17, 1e5),
        "electricity": (0.15, 3e5), "waste_heat": (0.08, 5e4), "co2": (0.07, 2e5),
        "cooling_water": (0.05, 1.5e6), "wastewater": (0.12, 2e5)},
       {"coal": (0.3, 1.9e6), "treated_wastewater": (0.15, 1.5e6), "limestone": (0.1, 3e4),
        "biomass_fuel": (0.08, 8e4), "fresh_water": (0.12, 2e6), "natural_gas": (0.1, 1.5e5),
        "wastewater_sludge": (0.05, 8e3), "cooling_water": (0.1, 1.5e6)},
       {"coal": (0.8, 1.8e6), "natural_gas": (0.1, 1e5), "electricity": (0.3, 7e3), "biomass_fuel": (0.05, 5e4)}),
    _s("D35.30", "Steam and air conditioning supply (heat plant)", "Heat & Power", 1.0, 150, 80, 6.5e4, 2e3, 8,
       {"steam": (0.35, 8e4), "district_heat": (0.15, 5e4), "fly_ash": (0.12, 6e3), "bottom_ash": (0.08, 2e3),
        "co2": (0.08, 3e4), "wastewater": (0.12, 3e4), "fgd_gypsum": (0.05, 2e3), "electricity": (0.05, 3e4)},
       {"coal": (0.3, 1.5e5), "natural_gas": (0.2, 8e4), "waste_heat": (0.12, 2e4), "biomass_fuel": (0.1, 3e4),
        "condensate": (0.1, 6e4), "treated_wastewater": (0.08, 2e5), "fresh_water": (0.1, 2e5)},
       {"coal": (0.6, 1.6e5), "natural_gas": (0.3, 8e4), "electricity": (0.3, 4e3), "biomass_fuel": (0.1, 3e4)}),
    _s("C24.10", "Manufacture of basic iron and steel and of ferro-alloys", "Iron & Steel", 0.51, 3000, 1200, 5.5e5,
       8e4, 8,
       {"blast_furnace_slag": (0.17, 9e4), "steel_slag": (0.15, 4e4), "waste_heat": (0.12, 8e4),
        "mill_scale": (0.05, 5e3), "blast_furnace_gas": (0.08, 4e5), "coke_oven_gas": (0.06, 1.5e5),
        "co2": (0.08, 2e5), "scrap_steel": (0.06, 1e4), "wastewater": (0.1, 3e5), "steam": (0.07, 5e4),
        "fgd_gypsum": (0.03, 5e3), "hazardous_waste": (0.03, 2e3)},
       {"iron_ore": (0.2, 5e5), "scrap_steel": (0.15, 8e4), "coke": (0.12, 8e5), "oxygen": (0.1, 5e4),
        "lime": (0.08, 3e4), "natural_gas": (0.07, 1e5), "electricity": (0.08, 2.5e5),
        "treated_wastewater": (0.06, 5e5), "hydrogen": (0.03, 2e4), "coal": (0.08, 5e5)},
       {"coke": (0.5, 8e5), "coal": (0.4, 4e5), "electricity": (0.6, 1.8e5), "natural_gas": (0.2, 1e5),
        "hydrogen": (0.03, 2e4)}),
    _s("C24.51", "Casting of iron (foundry)", "Foundry", 2.9, 100, 100, 4e3, 4e3, 2,
       {"foundry_sand": (0.35, 4e3), "scrap_steel": (0.2, 800), "waste_heat": (0.15, 4e3),
        "hazardous_waste": (0.1, 200), "wastewater": (0.2, 1.5e4)},
       {"scrap_steel": (0.35, 1.5e4), "coke": (0.15, 1.2e4), "electricity": (0.25, 7e3), "natural_gas": (0.15, 6e3),
        "fresh_water": (0.1, 2e4)},
       {"electricity": (0.6, 7e3), "coke": (0.3, 1.2e4), "natural_gas": (0.3, 6e3)}),
    _s("C24.42", "Aluminium production (incl. alumina)", "Aluminium", 0.27, 2000, 700, 1.1e5, 4e5, 5,
       {"red_mud": (0.25, 2e5), "waste_heat": (0.2, 5e4), "hazardous_waste": (0.15, 3e3), "co2": (0.15, 8e4),
        "wastewater": (0.1, 1.5e5), "steam": (0.15, 3e4)},
       {"electricity": (0.3, 7e5), "fly_ash": (0.05, 5e4), "natural_gas": (0.15, 1e5),
        "petroleum_coke": (0.15, 1.5e5), "steam": (0.15, 5e4), "lime": (0.1, 2e4), "fresh_water": (0.1, 3e5)},
       {"electricity": (0.8, 7e5), "natural_gas": (0.3, 1e5), "petroleum_coke": (0.3, 1.5e5), "coal": (0.2, 1e5)}),
    _s("C24.44", "Copper production", "Copper Smelting", 0.17, 2500, 500, 3e4, 6e4, 5,
       {"sulphuric_acid": (0.3, 1.5e5), "waste_heat": (0.2, 4e4), "steam": (0.15, 4e4),
        "hazardous_waste": (0.15, 5e3), "wastewater": (0.15, 8e4), "catalyst_waste": (0.05, 50)},
       {"electricity": (0.3, 1e5), "oxygen": (0.25, 1e5), "natural_gas": (0.15, 3e4), "coal": (0.1, 5e4),
        "fresh_water": (0.1, 3e5), "scrap_steel": (0.1, 5e3)},
       {"electricity": (0.7, 1e5), "natural_gas": (0.3, 3e4), "coal": (0.3, 5e4)}),
    _s("C19.20", "Manufacture of refined petroleum products", "Refinery", 0.13, 12000, 1200, 4e5, 6e4, 8,
       {"refinery_gas": (0.15, 3e5), "sulphur": (0.12, 2e4), "hydrogen": (0.1, 1.5e5), "steam": (0.12, 1.5e5),
        "waste_heat": (0.12, 1e5), "co2": (0.1, 1.5e5), "catalyst_waste": (0.05, 300), "wastewater": (0.1, 1.5e6),
        "cooling_water": (0.06, 2e6), "hazardous_waste": (0.05, 2e3), "petroleum_coke": (0.03, 1e5)},
       {"crude_oil": (0.3, 3e6), "natural_gas": (0.15, 3e5), "hydrogen": (0.1, 1e5),
        "treated_wastewater": (0.1, 2e6), "fresh_water": (0.15, 3e6), "steam": (0.1, 1e5),
        "electricity": (0.1, 2e5)},
       {"refinery_gas": (0.5, 1e6), "natural_gas": (0.4, 3e5), "electricity": (0.6, 1e5), "fuel_oil": (0.2, 1e5)}),
    _s("C20.11", "Manufacture of industrial gases", "Industrial Gases", 1.0, 150, 60, 500, 2e4, 3,
       {"oxygen": (0.4, 4e4), "nitrogen": (0.3, 3e4), "co2": (0.15, 1e4), "hydrogen": (0.05, 5e3),
        "waste_heat": (0.1, 5e3)},
       {"electricity": (0.5, 3.5e4), "co2": (0.3, 1.5e4), "cooling_water": (0.1, 3e5), "fresh_water": (0.1, 5e4)},
       {"electricity": (1.0, 3.5e4), "natural_gas": (0.1, 3e3)}),
    _s("C20.13", "Manufacture of other inorganic basic chemicals", "Inorganic Chemical", 1.7, 500, 200, 1e4, 1.8e4, 4,
       {"hydrogen": (0.2, 2e4), "phosphogypsum": (0.15, 1e5), "sulphuric_acid": (0.1, 3e4), "steam": (0.1, 2e4),
        "hazardous_waste": (0.1, 1e3), "wastewater": (0.15, 2e5), "waste_heat": (0.1, 1.5e4), "co2": (0.1, 5e3)},
       {"electricity": (0.3, 4.5e4), "steam": (0.2, 5e4), "sulphur": (0.15, 3e4), "natural_gas": (0.1, 2e4),
        "limestone": (0.1, 3e4), "fresh_water": (0.15, 3e5)},
       {"electricity": (0.7, 4.5e4), "steam": (0.5, 5e4), "natural_gas": (0.3, 2e4), "coal": (0.2, 2e4)}),
    _s("C20.14", "Manufacture of other organic basic chemicals", "Chemical", 2.7, 600, 250, 3e4, 1.5e4, 6,
       {"co2": (0.18, 2e4), "steam": (0.1, 3e4), "waste_heat": (0.12, 2e4), "hydrogen": (0.08, 1.5e4),
        "methanol": (0.08, 3e4), "catalyst_waste": (0.06, 100), "hazardous_waste": (0.1, 2e3),
        "wastewater": (0.15, 2e5), "sulphur": (0.05, 2e3), "cooling_water": (0.08, 5e5)},
       {"natural_gas": (0.15, 8e4), "coal": (0.15, 1e5), "steam": (0.2, 5e4), "hydrogen": (0.1, 3e4),
        "co2": (0.05, 1e4), "electricity": (0.15, 3.5e4), "treated_wastewater": (0.1, 3e5), "methanol": (0.1, 2e4),
        "process_water": (0.05, 2e5)},
       {"coal": (0.5, 1e5), "natural_gas": (0.5, 8e4), "electricity": (0.6, 3.5e4), "steam": (0.4, 5e4)}),
    _s("C20.15", "Manufacture of fertilisers and nitrogen compounds", "Fertiliser", 0.5, 700, 400, 6.5e4, 3e4, 5,
       {"co2": (0.3, 5e4), "steam": (0.15, 3e4), "ammonia": (0.1, 3e4), "urea": (0.1, 6e4),
        "waste_heat": (0.1, 2e4), "wastewater": (0.15, 2e5), "catalyst_waste": (0.05, 50),
        "hydrogen": (0.05, 1e4)},
       {"natural_gas": (0.25, 2e5), "coal": (0.2, 2e5), "co2": (0.1, 3e4), "hydrogen": (0.1, 3e4),
        "steam": (0.1, 4e4), "electricity": (0.15, 5e4), "fresh_water": (0.1, 5e5)},
       {"natural_gas": (0.6, 2e5), "coal": (0.5, 2e5), "electricity": (0.6, 5e4)}),
    _s("C20.16", "Manufacture of plastics in primary forms", "PVC & Resins", 1.0, 800, 300, 2e4, 3.5e4, 5,
       {"carbide_slag": (0.25, 6e4), "waste_plastic": (0.1, 1e3), "hydrogen": (0.1, 1.5e4), "steam": (0.1, 2e4),
        "waste_heat": (0.1, 2e4), "hazardous_waste": (0.1, 1e3), "wastewater": (0.15, 1.5e5), "co2": (0.1, 1e4)},
       {"electricity": (0.25, 9e4), "steam": (0.2, 5e4), "coal": (0.15, 5e4), "lime": (0.1, 5e4),
        "natural_gas": (0.1, 2e4), "hydrogen": (0.1, 1.5e4), "fresh_water": (0.1, 3e5)},
       {"electricity": (0.8, 9e4), "coal": (0.4, 5e4), "steam": (0.4, 5e4), "natural_gas": (0.2, 2e4)}),
    _s("C21.20", "Manufacture of pharmaceutical preparations", "Pharmaceutical", 3.7, 400, 250, 4e3, 7e3, 2,
       {"biomass_sludge": (0.2, 3e3), "hazardous_waste": (0.25, 500), "wastewater": (0.3, 8e4),
        "waste_heat": (0.1, 3e3), "co2": (0.05, 1e3), "waste_plastic": (0.1, 100)},
       {"steam": (0.35, 2e4), "deionised_water": (0.2, 4e4), "electricity": (0.2, 1.2e4), "natural_gas": (0.1, 8e3),
        "fresh_water": (0.15, 8e4)},
       {"electricity": (0.8, 1.2e4), "steam": (0.6, 2e4), "natural_gas": (0.3, 8e3)}),
    _s("C22.29", "Manufacture of other plastic products", "Plastics", 7.9, 120, 80, 300, 3e3, 1,
       {"waste_plastic": (0.55, 300), "waste_paper": (0.15, 80), "wastewater": (0.2, 4e3),
        "hazardous_waste": (0.1, 10)},
       {"waste_plastic": (0.3, 1.5e3), "electricity": (0.4, 5e3), "steam": (0.15, 2e3), "fresh_water": (0.15, 8e3)},
       {"electricity": (1.0, 5e3), "natural_gas": (0.1, 1e3), "steam": (0.1, 2e3)}),
    _s("C23.51", "Manufacture of cement", "Cement", 0.78, 500, 300, 2.2e5, 1.7e4, 8,
       {"waste_heat": (0.3, 2.5e4), "co2": (0.3, 1.5e5), "cement": (0.2, 3e5), "electricity": (0.1, 1.5e4),
        "wastewater": (0.1, 1.5e4)},
       {"fly_ash": (0.12, 4e4), "blast_furnace_slag": (0.12, 5e4), "steel_slag": (0.06, 1.5e4),
        "fgd_gypsum": (0.08, 1.5e4), "natural_gypsum": (0.06, 1.5e4), "limestone": (0.12, 4e5),
        "carbide_slag": (0.04, 5e4), "coal": (0.12, 2.5e5), "municipal_solid_waste": (0.04, 2e4),
        "waste_tyres": (0.02, 5e3), "wastewater_sludge": (0.04, 1e4), "clinker": (0.05, 1e5),
        "bottom_ash": (0.03, 1e4), "phosphogypsum": (0.02, 1e4), "electricity": (0.05, 3e4)},
       {"coal": (0.8, 2.5e5), "electricity": (0.8, 3e4), "biomass_fuel": (0.05, 2e4),
        "petroleum_coke": (0.1, 4e4)}),
    _s("C23.52", "Manufacture of lime and plaster", "Lime", 0.61, 80, 60, 4e4, 1.5e3, 3,
       {"lime": (0.45, 3e4), "co2": (0.35, 3e4), "waste_heat": (0.2, 5e3)},
       {"limestone": (0.5, 6e4), "coal": (0.3, 5e4), "carbide_slag": (0.1, 5e3), "natural_gas": (0.1, 1e4)},
       {"coal": (0.7, 5e4), "natural_gas": (0.3, 1e4), "electricity": (0.5, 2.5e3)}),
    _s("C23.61", "Manufacture of concrete products for construction purposes", "Building Materials", 4.0, 60, 60,
       600, 1.5e3, 3,
       {"construction_waste": (0.6, 2e3), "wastewater": (0.4, 4e3)},
       {"fly_ash": (0.2, 2e4), "bottom_ash": (0.1, 8e3), "cement": (0.2, 3e4), "steel_slag": (0.08, 8e3),
        "blast_furnace_slag": (0.08, 1.5e4), "construction_waste": (0.12, 1.5e4), "lime": (0.06, 3e3),
        "steam": (0.08, 8e3), "fgd_gypsum": (0.04, 2e3), "foundry_sand": (0.04, 1.5e3)},
       {"electricity": (1.0, 2.5e3), "steam": (0.4, 8e3), "diesel": (0.2, 1.5e3)}),
    _s("C23.62", "Manufacture of plaster products for construction purposes", "Plasterboard", 0.23, 80, 100, 4e3,
       3e3, 4,
       {"plasterboard_waste": (0.7, 1.5e3), "wastewater": (0.3, 4e3)},
       {"fgd_gypsum": (0.4, 8e4), "natural_gypsum": (0.2, 4e4), "phosphogypsum": (0.1, 2e4),
        "plasterboard_waste": (0.1, 4e3), "natural_gas": (0.1, 2e4), "steam": (0.1, 8e3)},
       {"natural_gas": (0.7, 2e4), "electricity": (0.7, 5e3), "steam": (0.3, 8e3)}),
    _s("C23.11", "Manufacture of flat glass", "Glass", 0.25, 500, 400, 5e4, 1.5e4, 4,
       {"waste_heat": (0.4, 3e4), "co2": (0.3, 5e4), "glass_cullet": (0.2, 8e3), "wastewater": (0.1, 2e4)},
       {"natural_gas": (0.35, 2e5), "glass_cullet": (0.15, 2e4), "limestone": (0.1, 3e4), "electricity": (0.2, 2.5e4),
        "petroleum_coke": (0.05, 5e4), "oxygen": (0.05, 1e4), "fresh_water": (0.1, 4e4)},
       {"natural_gas": (0.8, 2e5), "electricity": (0.8, 2.5e4), "petroleum_coke": (0.1, 5e4)}),
    _s("C17.12", "Manufacture of paper and paperboard", "Paper", 2.4, 400, 200, 1e4, 1.5e4, 4,
       {"wastewater_sludge": (0.25, 1.5e4), "wastewater": (0.25, 1.5e6), "waste_heat": (0.1, 1e4),
        "biomass_fuel": (0.1, 1.5e4), "waste_paper": (0.1, 3e3), "waste_plastic": (0.1, 3e3), "steam": (0.1, 2e4)},
       {"waste_paper": (0.25, 1e5), "steam": (0.25, 8e4), "wood_chips": (0.1, 5e4), "fresh_water": (0.15, 2e6),
        "treated_wastewater": (0.1, 1e6), "natural_gas": (0.05, 2e4), "electricity": (0.1, 2.5e4)},
       {"coal": (0.4, 3e4), "steam": (0.5, 8e4), "electricity": (0.8, 2.5e4), "biomass_fuel": (0.2, 1.5e4)}),
    _s("C16.21", "Manufacture of veneer sheets and wood-based panels", "Wood Panels", 2.9, 120, 100, 2e3, 3e3, 2,
       {"wood_chips": (0.5, 1.5e4), "biomass_fuel": (0.2, 1.5e4), "wastewater": (0.3, 1.5e4)},
       {"wood_chips": (0.3, 3e4), "steam": (0.3, 2e4), "electricity": (0.2, 5e3), "biomass_fuel": (0.2, 1.5e4)},
       {"electricity": (0.8, 5e3), "biomass_fuel": (0.5, 1.5e4), "steam": (0.3, 2e4)}),
    _s("C10.89", "Manufacture of other food products", "Food", 8.6, 250, 180, 2e3, 3e3, 2,
       {"food_waste": (0.3, 2e3), "wastewater": (0.35, 8e4), "biomass_sludge": (0.1, 800),
        "waste_paper": (0.1, 200), "co2": (0.05, 1e3), "waste_plastic": (0.1, 100)},
       {"steam": (0.35, 1.5e4), "fresh_water": (0.3, 1.5e5), "natural_gas": (0.15, 8e3), "electricity": (0.2, 5e3)},
       {"electricity": (0.9, 5e3), "steam": (0.5, 1.5e4), "natural_gas": (0.4, 8e3), "coal": (0.1, 8e3)}),
    _s("C10.91", "Manufacture of prepared feeds for farm animals", "Feed", 1.4, 250, 100, 800, 1.5e3, 2,
       {"wastewater": (0.6, 1.5e4), "waste_paper": (0.4, 150)},
       {"yeast_slurry": (0.2, 4e3), "food_waste": (0.2, 4e3), "steam": (0.3, 8e3), "electricity": (0.3, 2.5e3)},
       {"electricity": (0.9, 2.5e3), "steam": (0.5, 8e3), "natural_gas": (0.3, 2e3)}),
    _s("C11.05", "Manufacture of beer", "Brewery", 0.72, 500, 300, 5e3, 6e3, 3,
       {"yeast_slurry": (0.3, 2e3), "co2": (0.2, 5e3), "wastewater": (0.3, 3e5), "glass_cullet": (0.1, 1.5e3),
        "biogas": (0.1, 3e3)},
       {"steam": (0.3, 3e4), "co2": (0.15, 2e3), "fresh_water": (0.3, 5e5), "electricity": (0.15, 1e4),
        "natural_gas": (0.1, 1.5e4)},
       {"electricity": (0.8, 1e4), "steam": (0.6, 3e4), "natural_gas": (0.4, 1.5e4), "biogas": (0.1, 3e3)}),
    _s("C13.30", "Finishing of textiles (dyeing and printing)", "Textile Dyeing", 7.2, 120, 150, 3e3, 4e3, 2,
       {"wastewater": (0.6, 2e5), "waste_heat": (0.2, 4e3), "wastewater_sludge": (0.1, 1.5e3),
        "hazardous_waste": (0.1, 80)},
       {"steam": (0.45, 2e4), "fresh_water": (0.2, 2e5), "treated_wastewater": (0.15, 1.5e5),
        "electricity": (0.15, 7e3), "natural_gas": (0.05, 4e3)},
       {"steam": (0.8, 2e4), "electricity": (0.8, 7e3), "natural_gas": (0.2, 4e3)}),
    _s("C26.11", "Manufacture of electronic components", "Electronics", 14.0, 300, 350, 500, 3e3, 1,
       {"hazardous_waste": (0.3, 200), "waste_plastic": (0.15, 150), "wastewater": (0.35, 8e4),
        "waste_paper": (0.1, 150), "waste_heat": (0.1, 2e3)},
       {"electricity": (0.35, 9e3), "deionised_water": (0.2, 8e4), "nitrogen": (0.15, 2e3),
        "fresh_water": (0.15, 8e4), "steam": (0.1, 4e3), "hydrogen": (0.05, 500)},
       {"electricity": (1.0, 9e3), "natural_gas": (0.2, 2e3), "steam": (0.2, 4e3)}),
    _s("C28.29", "Manufacture of other general-purpose machinery", "Machinery", 18.0, 200, 150, 400, 1.5e3, 1,
       {"scrap_steel": (0.4, 1.5e3), "used_oil": (0.15, 30), "hazardous_waste": (0.1, 30),
        "waste_paper": (0.1, 80), "wastewater": (0.25, 8e3)},
       {"electricity": (0.5, 3.5e3), "natural_gas": (0.2, 1.5e3), "steam": (0.1, 1.5e3), "fresh_water": (0.2, 8e3)},
       {"electricity": (1.0, 3.5e3), "natural_gas": (0.3, 1.5e3), "diesel": (0.1, 300)}),
    _s("C29.10", "Manufacture of motor vehicles and parts", "Automotive", 4.2, 800, 600, 3e3, 1.2e4, 2,
       {"scrap_steel": (0.35, 1e4), "waste_plastic": (0.15, 800), "hazardous_waste": (0.15, 800),
        "waste_paper": (0.1, 800), "wastewater": (0.15, 1.5e5), "used_oil": (0.1, 100)},
       {"electricity": (0.4, 3.5e4), "steam": (0.2, 2e4), "natural_gas": (0.2, 1.5e4), "fresh_water": (0.2, 2e5)},
       {"electricity": (1.0, 3.5e4), "natural_gas": (0.5, 1.5e4), "steam": (0.3, 2e4)}),
    _s("J63.11", "Data processing, hosting and related activities (data centre)", "Data Centre", 0.48, 300, 100, 300,
       5e4, 2,
       {"waste_heat": (0.8, 5e4), "wastewater": (0.2, 3e4)},
       {"electricity": (0.6, 9e4), "cooling_water": (0.2, 5e5), "treated_wastewater": (0.2, 3e5)},
       {"electricity": (1.0, 9e4), "diesel": (0.1, 300)}),
    _s("E37.00", "Sewerage (wastewater treatment plant)", "Water Treatment", 1.0, 40, 50, 3e3, 3e3, 10,
       {"treated_wastewater": (0.5, 2e6), "wastewater_sludge": (0.35, 8e3), "biogas": (0.15, 3e3)},
       {"wastewater": (0.7, 1.5e6), "electricity": (0.2, 5e3), "oxygen": (0.05, 1e3), "steam": (0.05, 1.5e3)},
       {"electricity": (1.0, 5e3), "biogas": (0.2, 2e3)}),
    _s("E38.21", "Treatment and disposal of non-hazardous waste (waste-to-energy)", "Waste-to-Energy", 0.71, 100, 100,
       4e4, 1e3, 6,
       {"steam": (0.3, 5e4), "electricity": (0.2, 6e4), "bottom_ash": (0.2, 4e4), "hazardous_waste": (0.1, 5e3),
        "co2": (0.2, 4e4)},
       {"municipal_solid_waste": (0.35, 2e5), "wastewater_sludge": (0.2, 2e4), "waste_plastic": (0.1, 3e3),
        "food_waste": (0.1, 8e3), "biomass_sludge": (0.1, 3e3), "waste_tyres": (0.05, 1.5e3), "straw": (0.1, 8e3)},
       {"electricity": (0.8, 1.5e4), "diesel": (0.2, 800)}),
    _s("E38.32", "Recovery of sorted materials (recycling)", "Recycling", 3.6, 60, 40, 800, 1e3, 4,
       {"scrap_steel": (0.3, 8e3), "waste_plastic": (0.2, 3e3), "waste_paper": (0.2, 8e3),
        "glass_cullet": (0.1, 2e3), "construction_waste": (0.2, 1.5e4)},
       {"construction_waste": (0.25, 3e4), "waste_plastic": (0.2, 8e3), "waste_paper": (0.15, 8e3),
        "scrap_steel": (0.1, 8e3), "waste_tyres": (0.1, 2e3), "plasterboard_waste": (0.05, 1.5e3),
        "glass_cullet": (0.05, 1.5e3), "electricity": (0.1, 1.8e3)},
       {"electricity": (1.0, 1.8e3), "diesel": (0.4, 1.5e3)}),
    _s("E39.00", "Remediation and other waste management services (hazardous waste)", "Hazardous Waste Treatment",
       0.65, 80, 50, 6e3, 1.5e3, 5,
       {"bottom_ash": (0.4, 2e3), "steam": (0.3, 8e3), "co2": (0.3, 5e3)},
       {"hazardous_waste": (0.5, 8e3), "used_oil": (0.2, 1.5e3), "catalyst_waste": (0.1, 300),
        "natural_gas": (0.1, 4e3), "electricity": (0.1, 2.5e3)},
       {"electricity": (0.8, 2.5e3), "natural_gas": (0.5, 4e3), "diesel": (0.2, 800)}),
    _s("D35.21", "Manufacture of gas (biogas plant)", "Biogas", 0.39, 40, 30, 800, 1e3, 4,
       {"biogas": (0.4, 2e4), "digestate": (0.3, 2e4), "co2": (0.1, 3e3), "wastewater": (0.2, 1.5e4)},
       {"food_waste": (0.3, 2e4), "wastewater_sludge": (0.2, 8e3), "straw": (0.2, 8e3), "yeast_slurry": (0.1, 2e3),
        "biomass_sludge": (0.2, 4e3)},
       {"electricity": (0.8, 1.8e3), "biogas": (0.5, 2e3)}),
    _s("A01.13", "Growing of vegetables in glasshouses", "Greenhouse", 0.45, 40, 120, 1.5e3, 1.5e3, 2,
       {"straw": (0.7, 2e3), "wastewater": (0.3, 1.5e4)},
       {"co2": (0.3, 3e3), "waste_heat": (0.25, 1.5e4), "district_heat": (0.2, 2e4), "digestate": (0.1, 1.5e3),
        "fertiliser": (0.1, 300), "treated_wastewater": (0.05, 4e4)},
       {"district_heat": (0.5, 2e4), "natural_gas": (0.4, 1.5e4), "electricity": (0.8, 2.5e3)}),
)

# park profiles: sector-code prefix -> multiplier of the sector's weight
_PROFILES: dict[str, dict[str, float]] = {
    "chemical": {"C19": 6, "C20": 6, "C21": 2, "D35.30": 2, "E39": 3},
    "metallurgy": {"C24": 6, "D35.11": 2, "C23.5": 2, "E38": 2, "C28": 2},
    "building materials": {"C23": 6, "D35.11": 1.5, "E38.32": 2},
    "light industry": {"C10": 4, "C11": 4, "C13": 4, "C16": 4, "C17": 4, "C22": 3},
    "high-tech": {"C26": 4, "C28": 2, "C29": 3, "C21": 3, "J63": 4},
    "circular economy": {"E37": 4, "E38": 5, "E39": 4, "D35.21": 5, "C23.61": 2, "A01": 3},
    "comprehensive": {},
}
_PROFILE_SHARES = {  # (ordinary province, heavy-industry province)
    "chemical": (0.18, 0.22), "metallurgy": (0.07, 0.20), "building materials": (0.07, 0.14),
    "light industry": (0.18, 0.10), "high-tech": (0.20, 0.06), "circular economy": (0.06, 0.06),
    "comprehensive": (0.24, 0.22),
}
_BRANDS = ("Huaxin", "Hengyuan", "Jinlong", "Zhongtai", "Xinyuan", "Dongfang", "Hongda", "Tianrun", "Baoli",
           "Changsheng", "Ruifeng", "Huarun", "Jiahe", "Shenghua", "Yongxing", "Hualong", "Taihe", "Xinghai",
           "Lianhua", "Fuyuan", "Zhongxin", "Kaida", "Minsheng", "Guotai", "Hengtong", "Wanda", "Jintai",
           "Haixin", "Longsheng", "Tongda", "Anda", "Ronghua", "Xiangyu", "Huayang", "Qiaolian", "Shunfeng")
_OFFSET_KINDS = ("CCER", "forestry", "green certificate")
_RENEWABLE_ALWAYS = {"biomass_fuel", "biogas"}
_RENEWABLE_BY_PARK = {"electricity", "hydrogen", "district_heat", "steam"}
# resources that do not travel between parks (heat and water by pipe stay local)
_LOCAL = {"steam", "waste_heat", "district_heat", "condensate", "cooling_water", "wastewater", "electricity",
          "process_water", "deionised_water", "blast_furnace_gas", "coke_oven_gas"}
_SEWER = {"wastewater", "treated_wastewater", "cooling_water", "condensate", "process_water"}


# --------------------------------------------------------------------------------------------------


def generate_dataset(out: str | os.PathLike, parks: int = 2543, firms: int = 250_000, flows: int = 1_000_000,
                     seed: int = 0) -> dict[str, int]:
    """Write a synthetic national dataset of Chinese industrial parks as CSV files in ``out``.

    Parameters
    ----------
    out : path-like
        Folder for the files (created if missing; files of the same names are overwritten).
    parks, firms, flows : int
        How many parks, enterprises and flows to make (``firms >= parks >= 1``).
    seed : int
        Seed of the numpy random generator: the same seed gives byte-identical files.

    Returns
    -------
    dict
        Rows written per file name, e.g. ``{"parks.csv": 2543, "enterprises.csv": 250000, ...}``. A
        table other than parks, enterprises and flows that would have no rows (offsets of a handful of
        parks) is not written, since the importer refuses a file with a header and no data.

    Examples
    --------
    >>> import tempfile
    >>> counts = generate_dataset(tempfile.mkdtemp(), parks=20, firms=2000, flows=8000, seed=1)
    >>> counts["flows.csv"]
    8000
    """
    if parks < 1 or firms < parks or flows < 0:
        raise InputError("need parks >= 1, firms >= parks and flows >= 0")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    model = _Model.build()

    park = _make_parks(rng, parks)
    firm = _make_firms(rng, model, park, firms)
    flow = _make_flows(rng, model, park, firm, flows)
    offers = _make_exchanges(rng, model, firm, "O", model.out_cdf, model.out_median, 0.3)
    demands = _make_exchanges(rng, model, firm, "D", model.in_cdf, model.in_median, 0.3)
    emissions = _make_emissions(rng, model, firm)
    energy = _make_energy(rng, model, park, firm)
    offsets = _make_offsets(rng, park)

    tables = {
        "parks.csv": pd.DataFrame({"id": park["id"], "name": park["name"], "country": "CN",
                                   "region": park["region"], "lat": park["lat"], "lon": park["lon"]}),
        "enterprises.csv": firm["frame"],
        "flows.csv": flow,
        "offers.csv": offers,
        "demands.csv": demands,
        "emissions.csv": emissions,
        "energy_use.csv": energy,
        "offsets.csv": offsets,
    }
    counts = {}
    for name, frame in tables.items():
        if len(frame) or name in ("parks.csv", "enterprises.csv", "flows.csv"):
            _write_csv(frame, folder / name)  # an optional table with no rows is left out
            counts[name] = len(frame)
        else:
            (folder / name).unlink(missing_ok=True)
    return counts


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write with numbers as text made by numpy (pandas' float_format runs in Python, per cell)."""
    frame = frame.copy(deep=False)
    for column in frame.columns:
        if frame[column].dtype.kind == "f":
            frame[column] = _number_text(frame[column].to_numpy())
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _number_text(values: np.ndarray) -> np.ndarray:
    """Floats as short text: whole numbers without '.0', others by their shortest repr, NaN empty."""
    text = np.full(len(values), "", dtype=object)
    finite = np.isfinite(values)
    whole = finite & (values == np.round(values)) & (np.abs(values) < 1e15)
    text[whole] = values[whole].astype(np.int64).astype(str)
    rest = finite & ~whole
    text[rest] = values[rest].astype(str)
    return text


# --------------------------------------------------------------------------------------------------
# lookup tables built once from SECTORS and the catalogue


@dataclass
class _Model:
    codes: list[str]  # resource codes (index = resource number)
    kinds: np.ndarray  # kind per resource (object)
    energy_t: np.ndarray  # MWh per t (nan if none)
    energy_m3: np.ndarray  # MWh per m3 (nan if none)
    out_cdf: np.ndarray  # [S, R] cumulative output weights per sector
    out_cdf_far: np.ndarray  # [S, R] the same, for flows to another park (local resources damped)
    in_cdf: np.ndarray  # [S, R]
    out_median: np.ndarray  # [S, R]
    in_median: np.ndarray  # [S, R]
    in_lists: list[np.ndarray]  # per sector: resources it takes
    carriers: list[str]
    carrier_logw: np.ndarray  # [S, C] log weight (-inf: sector does not use it)
    carrier_median: np.ndarray  # [S, C]

    @classmethod
    def build(cls) -> _Model:
        path = catalogue_path()
        if path is None:
            raise ShippedDataError("the resource catalogue is missing from this installation of symbiosis")
        catalogue = pd.read_csv(path, dtype={"code": str, "kind": str})
        known = dict(zip(catalogue["code"], catalogue["kind"]))
        used = sorted({code for sector in SECTORS for code in (*sector.outputs, *sector.inputs)})
        missing = [code for code in used if code not in known]
        if missing:
            raise ShippedDataError(f"the generator's sectors use resources not in the shipped catalogue: "
                                   f"{', '.join(missing)}")
        index = {code: number for number, code in enumerate(used)}
        by_code = catalogue.set_index("code")
        n_sectors, n_resources = len(SECTORS), len(used)
        out_w = np.zeros((n_sectors, n_resources))
        in_w = np.zeros((n_sectors, n_resources))
        out_median = np.zeros((n_sectors, n_resources))
        in_median = np.zeros((n_sectors, n_resources))
        for s, sector in enumerate(SECTORS):
            for code, (weight, median) in sector.outputs.items():
                out_w[s, index[code]], out_median[s, index[code]] = weight, median
            for code, (weight, median) in sector.inputs.items():
                in_w[s, index[code]], in_median[s, index[code]] = weight, median
        far = np.array([0.03 if code in _LOCAL else 1.0 for code in used])
        carriers = sorted({carrier for sector in SECTORS for carrier in sector.carriers})
        carrier_logw = np.full((n_sectors, len(carriers)), -np.inf)
        carrier_median = np.zeros((n_sectors, len(carriers)))
        for s, sector in enumerate(SECTORS):
            for carrier, (weight, median) in sector.carriers.items():
                c = carriers.index(carrier)
                carrier_logw[s, c], carrier_median[s, c] = np.log(weight), median
        return cls(
            codes=used,
            kinds=np.array([known[code] for code in used], dtype=object),
            energy_t=pd.to_numeric(by_code.loc[used, "energy_mwh_per_t"]).to_numpy(dtype=float),
            energy_m3=pd.to_numeric(by_code.loc[used, "energy_mwh_per_m3"]).to_numpy(dtype=float),
            out_cdf=_cdf(out_w), out_cdf_far=_cdf(out_w * far), in_cdf=_cdf(in_w),
            out_median=out_median, in_median=in_median,
            in_lists=[np.flatnonzero(row) for row in in_w],
            carriers=carriers, carrier_logw=carrier_logw, carrier_median=carrier_median,
        )


def _cdf(weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights, axis=1)
    return cdf / cdf[:, -1:]


def _draw_rows(rng: np.random.Generator, cdf: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One category per entry of ``rows`` from that row's cumulative distribution (vectorised)."""
    n_cols = cdf.shape[1]
    flat = (cdf + np.arange(cdf.shape[0])[:, None]).ravel()  # rows stacked on one increasing axis
    draws = np.searchsorted(flat, rows + rng.random(len(rows)), side="right")
    return np.minimum(draws - rows * n_cols, n_cols - 1)


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    """``prefix`` + zero-padded 1..n, as an object array, without a Python loop."""
    width = max(width, len(str(n)))
    numbers = np.arange(1, n + 1, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    chars = np.empty((n, len(prefix) + width), dtype=np.uint8)
    chars[:, :len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    chars[:, len(prefix):] = (numbers[:, None] // powers) % 10 + ord("0")
    return chars.view(f"S{chars.shape[1]}").ravel().astype(str).astype(object)


def _lognormal(rng: np.random.Generator, median, sigma: float, size: int) -> np.ndarray:
    return np.asarray(median, dtype=float) * np.exp(sigma * rng.standard_normal(size))


# --------------------------------------------------------------------------------------------------
# parks and firms


def _make_parks(rng: np.random.Generator, n: int) -> dict:
    weights = np.array([row[5] for row in PROVINCES])
    province = rng.choice(len(PROVINCES), size=n, p=weights / weights.sum())
    centre_lat = np.array([row[1] for row in PROVINCES])[province]
    centre_lon = np.array([row[2] for row in PROVINCES])[province]
    spread_lat = np.array([row[3] for row in PROVINCES])[province]
    spread_lon = np.array([row[4] for row in PROVINCES])[province]
    lat = np.clip(centre_lat + spread_lat * rng.standard_normal(n), *_LAT_RANGE).round(4)
    lon = np.clip(centre_lon + spread_lon * rng.standard_normal(n), *_LON_RANGE).round(4)
    region = np.array([row[0] for row in PROVINCES], dtype=object)[province]
    heavy = np.array([row[6] for row in PROVINCES])[province]
    profiles = list(_PROFILES)
    shares = np.array([_PROFILE_SHARES[name] for name in profiles])  # [profile, 2]
    cdf = np.cumsum(shares / shares.sum(axis=0), axis=0).T  # [2, profile]
    profile = _draw_rows(rng, cdf, heavy.astype(np.int64))
    ids = _ids("P", n, 4)
    numbers = pd.Series(ids).str.slice(1)
    names = ("Park " + numbers + " (" + pd.Series(region) + ")").to_numpy(dtype=object)
    renewable = np.round(0.05 + 0.75 * rng.beta(1.3, 2.2, n), 3)  # target renewable share, 5-80 %
    return {"n": n, "id": ids, "name": names, "region": region, "lat": lat, "lon": lon, "profile": profile,
            "renewable": renewable}


def _sector_cdf_by_profile() -> np.ndarray:
    base = np.array([sector.weight for sector in SECTORS])
    rows = []
    for tilt in _PROFILES.values():
        weights = base.copy()
        for s, sector in enumerate(SECTORS):
            for prefix, factor in tilt.items():
                if sector.code.startswith(prefix):
                    weights[s] *= factor
        rows.append(weights)
    return _cdf(np.array(rows))


def _make_firms(rng: np.random.Generator, model: _Model, park: dict, n: int) -> dict:
    n_parks = park["n"]
    floor = 2 if n >= 2 * n_parks else 1
    size = rng.lognormal(0.0, 1.1, n_parks)
    counts = floor + rng.multinomial(n - floor * n_parks, size / size.sum())
    park_of = np.repeat(np.arange(n_parks), counts)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.arange(n) - starts[park_of]  # position of the firm inside its park

    sector = _draw_rows(rng, _sector_cdf_by_profile(), park["profile"][park_of])
    codes = [sector_.code for sector_ in SECTORS]
    # Chinese parks run a central heat (or power) plant and a wastewater plant
    utility = np.where(rng.random(n) < 0.8, codes.index("D35.30"), codes.index("D35.11"))
    sector = np.where((rank == 0) & (counts[park_of] >= 3), utility, sector)
    sector = np.where((rank == 1) & (counts[park_of] >= 5), codes.index("E37.00"), sector)

    output_median = np.array([s.output_mcny for s in SECTORS])[sector]
    output = _lognormal(rng, output_median, 0.9, n)
    size_factor = np.clip((output / output_median) ** 0.8, 0.02, 50.0)
    staff = np.array([s.employees for s in SECTORS])[sector] * (output / output_median) ** 0.7
    staff = np.maximum(np.rint(staff * np.exp(0.4 * rng.standard_normal(n))), 5).astype(np.int64)

    radius_km = np.minimum(0.6 + 0.2 * np.sqrt(counts[park_of]), 5.0)  # spread of a park, km
    lat0, lon0 = park["lat"][park_of], park["lon"][park_of]
    lat = np.clip(lat0 + radius_km * rng.standard_normal(n) / 111.2, *_LAT_RANGE)
    lon = np.clip(lon0 + radius_km * rng.standard_normal(n) / (111.2 * np.cos(np.radians(lat0))), *_LON_RANGE)
    lat, lon = lat.round(5), lon.round(5)

    ids = _ids("E", n, 6)
    brand = np.array(_BRANDS, dtype=object)[rng.integers(0, len(_BRANDS), n)]
    short = np.array([s.short for s in SECTORS], dtype=object)[sector]
    names = brand + " " + short + " Co., Ltd."
    frame = pd.DataFrame({
        "id": ids, "name": names, "park_id": park["id"][park_of],
        "sector_code": np.array(codes, dtype=object)[sector],
        "sector_name": np.array([s.name for s in SECTORS], dtype=object)[sector],
        "lat": lat, "lon": lon, "output_value_mcny": output.round(2), "employees": staff,
    })
    return {"n": n, "id": ids, "park": park_of, "sector": sector, "size": size_factor, "lat": lat, "lon": lon,
            "park_start": starts, "park_count": counts, "frame": frame}


# --------------------------------------------------------------------------------------------------
# flows


class _Takers:
    """For each (park, resource): the firms of that park whose sector takes the resource."""

    def __init__(self, model: _Model, firm: dict, n_parks: int):
        per_sector = np.array([len(items) for items in model.in_lists])
        flat = np.concatenate(model.in_lists)
        offsets = np.concatenate(([0], np.cumsum(per_sector)[:-1]))
        n_in = per_sector[firm["sector"]]
        entry_firm = np.repeat(np.arange(firm["n"]), n_in)
        position = np.arange(len(entry_firm)) - np.repeat(np.cumsum(n_in) - n_in, n_in)
        entry_resource = flat[offsets[firm["sector"][entry_firm]] + position]
        self.n_resources = len(model.codes)
        key = firm["park"][entry_firm].astype(np.int64) * self.n_resources + entry_resource
        order = np.argsort(key, kind="stable")
        self.firm = entry_firm[order]
        boundaries = np.searchsorted(key[order], np.arange(n_parks * self.n_resources + 1))
        self.start = boundaries[:-1]
        self.count = np.diff(boundaries)

    def pick(self, rng: np.random.Generator, park: np.ndarray, resource: np.ndarray,
             exclude: np.ndarray | None) -> np.ndarray:
        """A taker firm per entry, or -1 where the park has none (other than ``exclude``)."""
        key = park.astype(np.int64) * self.n_resources + resource
        start, count = self.start[key], self.count[key]
        k = np.floor(rng.random(len(key)) * count).astype(np.int64)
        found = count > 0
        target = np.where(found, self.firm[np.minimum(start + k, len(self.firm) - 1)], -1)
        if exclude is not None:
            clash = found & (target == exclude)
            other = self.firm[np.minimum(start + (k + 1) % np.maximum(count, 1), len(self.firm) - 1)]
            target = np.where(clash, np.where(count > 1, other, -1), target)
        return target


def _neighbours(park: dict) -> tuple[np.ndarray, np.ndarray]:
    """Up to NEIGHBOURS other parks within NEARBY_KM of each park: (index matrix, count per park)."""
    from scipy.spatial import cKDTree

    n = park["n"]
    k = min(NEIGHBOURS + 1, n)
    points = unit_vectors(park["lat"], park["lon"])
    chord = 2 * np.sin(NEARBY_KM / EARTH_RADIUS_KM / 2)
    distance, index = cKDTree(points).query(points, k=k, distance_upper_bound=chord)
    index = index.reshape(n, k)
    valid = (index < n) & (index != np.arange(n)[:, None])
    # valid entries first, in order of distance
    order = np.argsort(~valid, axis=1, kind="stable")
    index = np.take_along_axis(np.where(valid, index, -1), order, axis=1)
    return index, valid.sum(axis=1)


def _pick_sources(rng: np.random.Generator, firm: dict, n: int, eligible: np.ndarray) -> np.ndarray:
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    propensity = np.array([s.propensity for s in SECTORS])[firm["sector"]]
    weights = propensity * np.sqrt(firm["size"]) * eligible
    return rng.choice(firm["n"], size=n, p=weights / weights.sum())


def _make_flows(rng: np.random.Generator, model: _Model, park: dict, firm: dict, n: int) -> pd.DataFrame:
    sector, park_of = firm["sector"], firm["park"]
    counts = firm["park_count"]
    near, near_count = _neighbours(park)
    can_local = counts[park_of] >= 2
    can_far = near_count[park_of] > 0
    n_local = round(n * SHARE_SAME_PARK) if can_local.any() else 0
    n_far = round(n * SHARE_NEARBY_PARK) if can_far.any() else 0
    if n_local == 0 and can_far.any():
        n_far = round(n * (SHARE_SAME_PARK + SHARE_NEARBY_PARK))
    elif n_far == 0 and n_local:
        n_local = round(n * (SHARE_SAME_PARK + SHARE_NEARBY_PARK))
    n_boundary = n - n_local - n_far
    takers = _Takers(model, firm, park["n"])

    # -- within a park
    source = _pick_sources(rng, firm, n_local, can_local)
    home = park_of[source]
    resource = np.zeros(n_local, dtype=np.int64)
    target = np.full(n_local, -1, dtype=np.int64)
    for _ in range(4):  # redraw the resource where the park has no taker for it
        todo = np.flatnonzero(target < 0)
        if not len(todo):
            break
        resource[todo] = _draw_rows(rng, model.out_cdf, sector[source[todo]])
        target[todo] = takers.pick(rng, home[todo], resource[todo], source[todo])
    todo = np.flatnonzero(target < 0)  # no taker at all: any other firm of the park
    if len(todo):
        start, count = firm["park_start"][home[todo]], counts[home[todo]]
        shift = 1 + np.floor(rng.random(len(todo)) * (count - 1)).astype(np.int64)
        target[todo] = start + (source[todo] - start + shift) % count
    local = (source, target, resource)

    # -- to a firm of a park within NEARBY_KM
    source = _pick_sources(rng, firm, n_far, can_far)
    home = park_of[source]
    resource = np.zeros(n_far, dtype=np.int64)
    target = np.full(n_far, -1, dtype=np.int64)
    other = np.zeros(n_far, dtype=np.int64)
    for _ in range(4):
        todo = np.flatnonzero(target < 0)
        if not len(todo):
            break
        choice = np.floor(rng.random(len(todo)) * near_count[home[todo]]).astype(np.int64)
        other[todo] = near[home[todo], choice]
        resource[todo] = _draw_rows(rng, model.out_cdf_far, sector[source[todo]])
        target[todo] = takers.pick(rng, other[todo], resource[todo], None)
    todo = np.flatnonzero(target < 0)
    if len(todo):
        start, count = firm["park_start"][other[todo]], counts[other[todo]]
        target[todo] = start + np.floor(rng.random(len(todo)) * count).astype(np.int64)
    far = (source, target, resource)

    # -- across the park boundary: imports (to a firm) and exports (from a firm)
    n_import = round(n_boundary * 0.4)
    n_export = n_boundary - n_import
    everyone = np.ones(firm["n"], dtype=bool)
    importer = _pick_sources(rng, firm, n_import, everyone)
    import_resource = _draw_rows(rng, model.in_cdf, sector[importer])
    exporter = _pick_sources(rng, firm, n_export, everyone)
    export_resource = _draw_rows(rng, model.out_cdf, sector[exporter])

    source = np.concatenate([local[0], far[0], np.full(n_import, -1), exporter])
    target = np.concatenate([local[1], far[1], importer, np.full(n_export, -1)])
    resource = np.concatenate([local[2], far[2], import_resource, export_resource])
    # a firm-to-firm flow carries part of what the source gives; an import part of what the target takes
    giver = np.where(source >= 0, source, target)
    median = np.where(source >= 0, model.out_median[sector[giver], resource], model.in_median[sector[giver], resource])
    share = np.where(np.arange(n) < n_local + n_far, rng.uniform(0.1, 0.9, n), rng.uniform(0.3, 1.0, n))
    quantity = np.maximum(np.rint(_lognormal(rng, median, 0.8, n) * firm["size"][giver] * share), 1.0)

    kinds = model.kinds[resource]
    codes = np.array(model.codes, dtype=object)
    boundary = np.full(n, "", dtype=object)
    boundary[source < 0] = "import"
    exports = target < 0
    export_code = codes[resource]
    label = np.where(kinds == "co2", "air",
                     np.where(np.isin(export_code, list(_SEWER)), "sewer",
                              np.where(export_code == "electricity", "grid",
                                       np.where(kinds == "waste",
                                                np.where(rng.random(n) < 0.8, "landfill", "export"), "export"))))
    boundary[exports] = label[exports]

    distance = np.full(n, np.nan)
    span = slice(n_local, n_local + n_far)
    s_far, t_far = far[0], far[1]
    distance[span] = (haversine_km(firm["lat"][s_far], firm["lon"][s_far], firm["lat"][t_far], firm["lon"][t_far])
                      * ROAD_FACTOR).round(1)
    roll = rng.random(n)
    status = np.where(roll < 0.03, "planned", np.where(roll < 0.07, "potential", "existing")).astype(object)

    quantity_text, unit = _units(rng, model, resource, quantity)
    ids = np.asarray(firm["id"])
    frame = pd.DataFrame({
        "source_id": np.where(source >= 0, ids[np.maximum(source, 0)], ""),
        "target_id": np.where(target >= 0, ids[np.maximum(target, 0)], ""),
        "resource_code": codes[resource], "kind": kinds, "quantity": quantity_text, "unit": unit,
        "year": YEAR, "status": status, "distance_km": distance, "boundary": boundary,
    })
    frame = frame.iloc[rng.permutation(n)].reset_index(drop=True)
    frame.insert(0, "id", _ids("F", n, 7))
    return frame


def _units(rng: np.random.Generator, model: _Model, resource: np.ndarray,
           quantity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantities (canonical, some in other units, ~5 % unknown) and the unit each is written in."""
    n = len(resource)
    kinds = model.kinds[resource]
    unit = pd.Series(kinds).map(CANONICAL_UNIT).to_numpy(dtype=object)
    value = quantity.astype(float).copy()
    other = rng.random(n) < SHARE_OTHER_UNIT
    pick = rng.random(n)
    alternatives = {  # kind -> [(unit, factor from canonical)]
        "material": [("kt/yr", 1e-3), ("t", 1.0)],
        "waste": [("kt/yr", 1e-3), ("t", 1.0)],
        "energy": [("GJ/yr", 3.6), ("GWh/yr", 1e-3), ("TJ", 3.6e-3)],
        "water": [("m³/yr", 1.0), ("thousand m3/yr", 1e-3)],
        "co2": [("ktCO2e/yr", 1e-3), ("t/yr", 1.0)],
    }
    for kind, choices in alternatives.items():
        mask = other & (kinds == kind)
        which = np.minimum((pick * len(choices)).astype(int), len(choices) - 1)
        for number, (text, factor) in enumerate(choices):
            chosen = mask & (which == number)
            unit[chosen] = text
            value[chosen] = value[chosen] * factor
    # fuels given by mass or volume, converted through the catalogue's energy content
    per_t, per_m3 = model.energy_t[resource], model.energy_m3[resource]
    by_mass = (kinds == "energy") & np.isfinite(per_t) & (rng.random(n) < 0.03)
    by_volume = (kinds == "energy") & ~by_mass & np.isfinite(per_m3) & (rng.random(n) < 0.03)
    unit[by_mass] = "t/yr"
    value[by_mass] = quantity[by_mass] / per_t[by_mass]
    unit[by_volume] = "Nm3/yr"
    value[by_volume] = quantity[by_volume] / per_m3[by_volume]
    value = np.where(value >= 100, np.rint(value), np.round(value, 3))
    unknown = rng.random(n) < SHARE_UNKNOWN_QUANTITY
    value[unknown] = np.nan
    unit[unknown] = ""
    return value, unit


# --------------------------------------------------------------------------------------------------
# offers, demands, emissions, energy use, offsets


def _make_exchanges(rng: np.random.Generator, model: _Model, firm: dict, prefix: str, cdf: np.ndarray,
                    medians: np.ndarray, per_firm: float) -> pd.DataFrame:
    n = round(firm["n"] * per_firm)
    who = np.sort(rng.integers(0, firm["n"], n))
    resource = _draw_rows(rng, cdf, firm["sector"][who])
    keep = ~pd.DataFrame({"who": who, "resource": resource}).duplicated().to_numpy()
    who, resource = who[keep], resource[keep]
    m = len(who)
    quantity = _lognormal(rng, medians[firm["sector"][who], resource], 0.7, m) * firm["size"][who]
    quantity = np.maximum(np.rint(quantity * rng.uniform(0.2, 0.8, m)), 1.0)
    value, unit = _units(rng, model, resource, quantity)
    return pd.DataFrame({
        "id": _ids(prefix, m, 6), "enterprise_id": np.asarray(firm["id"])[who],
        "resource_code": np.array(model.codes, dtype=object)[resource], "kind": model.kinds[resource],
        "quantity": value, "unit": unit, "year": YEAR,
    })


def _make_emissions(rng: np.random.Generator, model: _Model, firm: dict) -> pd.DataFrame:
    n, sector, size = firm["n"], firm["sector"], firm["size"]
    scope1 = np.rint(_lognormal(rng, np.array([s.scope1_t for s in SECTORS])[sector], 0.5, n) * size)
    scope2 = np.rint(_lognormal(rng, np.array([s.scope2_t for s in SECTORS])[sector], 0.5, n) * size)
    emitter = np.isin(np.array([s.code for s in SECTORS])[sector],
                      ["D35.11", "D35.30", "C23.51", "C24.10", "C20.14", "C20.15", "C19.20"])
    capture = emitter & (rng.random(n) < 0.03)
    capture_t = np.where(capture, np.rint(scope1 * rng.uniform(0.05, 0.3, n)), 0.0)
    return pd.DataFrame({"enterprise_id": firm["id"], "year": YEAR, "scope1_t": scope1, "scope2_t": scope2,
                         "co2_capture_t": capture_t})


def _make_energy(rng: np.random.Generator, model: _Model, park: dict, firm: dict) -> pd.DataFrame:
    n, sector = firm["n"], firm["sector"]
    logw = model.carrier_logw[sector]
    keys = logw + rng.gumbel(size=logw.shape)  # Gumbel top-k: weighted draw without replacement
    order = np.argsort(-keys, axis=1, kind="stable")[:, :3]
    available = np.isfinite(logw).sum(axis=1)
    wanted = np.minimum(rng.integers(1, 4, n), available)
    rows, slot = np.nonzero(np.arange(3)[None, :] < wanted[:, None])
    carrier = order[rows, slot]
    m = len(rows)
    mwh = np.rint(_lognormal(rng, model.carrier_median[sector[rows], carrier], 0.5, m) * firm["size"][rows])
    mwh = np.maximum(mwh, 1.0)
    names = np.array(model.carriers, dtype=object)[carrier]
    # Switchable carriers (power, heat, hydrogen) are green with the probability that brings the park's
    # expected renewable share of MWh to its target (as far as its switchable MWh allow).
    home = firm["park"][rows]
    fixed = np.isin(names, list(_RENEWABLE_ALWAYS))
    switchable = np.isin(names, list(_RENEWABLE_BY_PARK))
    total = np.bincount(home, weights=mwh, minlength=park["n"])
    green = np.bincount(home, weights=mwh * fixed, minlength=park["n"])
    room = np.bincount(home, weights=mwh * switchable, minlength=park["n"])
    chance = np.clip((park["renewable"] * total - green) / np.maximum(room, 1.0), 0.0, 1.0)
    renewable = fixed | (switchable & (rng.random(m) < chance[home]))
    # a draw that overshoots the 5-80 % band (few large rows) is pulled back: all or none switched
    share = np.bincount(home, weights=mwh * renewable, minlength=park["n"]) / np.maximum(total, 1.0)
    renewable = np.where(switchable & (share < 0.05)[home], True, renewable)
    renewable = np.where(switchable & (share > 0.80)[home], False, renewable)
    return pd.DataFrame({"enterprise_id": np.asarray(firm["id"])[rows], "year": YEAR, "carrier": names,
                         "mwh": mwh, "renewable": np.where(renewable, "true", "false")})


def _make_offsets(rng: np.random.Generator, park: dict) -> pd.DataFrame:
    chosen = np.flatnonzero(rng.random(park["n"]) < 0.25)
    kind = np.array(_OFFSET_KINDS, dtype=object)[rng.integers(0, len(_OFFSET_KINDS), len(chosen))]
    tonnes = np.rint(_lognormal(rng, 20e3, 1.0, len(chosen)))
    return pd.DataFrame({"park_id": park["id"][chosen], "year": YEAR, "t_co2e": tonnes, "kind": kind})
