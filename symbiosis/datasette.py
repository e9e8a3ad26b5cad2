"""Datasette metadata for a store: what each table and column holds, in which unit, and canned queries.

``symbiosis datasette-metadata -o metadata.json`` writes it; ``datasette serve park.db -m metadata.json``
then shows every table with its description, each column's meaning (and unit, where one unit holds for the
whole column), and queries for the common questions (flows with firm names and units, a park summary).
The descriptions come from the table specs (:mod:`symbiosis.schema`), so they follow the data model.
"""
from __future__ import annotations

import json
from pathlib import Path

from .schema import TABLES

__all__ = ["datasette_metadata", "TABLE_DESCRIPTIONS", "COLUMN_DESCRIPTIONS"]

TABLE_DESCRIPTIONS = {
    "parks": "Industrial parks.",
    "resources": "The resource catalogue: kind, canonical unit, EWC code, energy content, avoided-CO2 factor.",
    "enterprises": "Firms, and the park's boundary nodes (a grid, a lake, outside actors) with their role.",
    "flows": "Material, waste, energy, water and CO2 flows between firms, or across the park boundary (an empty "
             "end), each quantity in the canonical unit of its kind (column unit); NULL quantity = unknown, not 0.",
    "offers": "What firms could give away (by-products, spare energy, water), gross.",
    "demands": "What firms could take, gross.",
    "emissions": "Reported emissions per firm and year, tCO2e/yr.",
    "energy_use": "Energy use per firm, year and carrier, MWh/yr.",
    "offsets": "Carbon offsets and green certificates per park and year, tCO2e.",
    "imports": "Every import: file, table, rows, when (symbiosis history); undone ones keep their row.",
    "reconciliations": "Stored data reconciliations (symbiosis reconcile): one per park, currency and year.",
    "estimates": "Reconciled values of flows (adjusted, determined, kept, undetermined): a layer beside the data.",
    "scenarios": "Stored scenarios of a park (symbiosis scenario add): a base (as-is, planned, plan) and changes.",
    "scenario_changes": "The changes of each stored scenario, in order: flows added, removed or scaled, firms added "
                        "or removed; quantities in the resource's canonical unit.",
    "runs": "Per-park runs (metrics, carbon, scorecard --by-park): command, options, parks, start and end.",
    "park_results": "Each park's result of a per-park run (JSON tables), or its error: what --resume keeps.",
}

#: column meanings shared by several tables
_SHARED = {
    "id": "Key of the row.", "name": "Name as written in the data.", "park_id": "Park (parks.id).",
    "enterprise_id": "Firm (enterprises.id).", "resource_code": "Resource (resources.code).",
    "kind": "material, waste, energy, water or co2.", "year": "Year of the figure (empty: undated).",
    "quantity": "Quantity per year in the canonical unit of its kind (column unit); empty = unknown.",
    "unit": "Canonical unit: t/yr (material, waste), MWh/yr (energy), m3/yr (water), tCO2e/yr (co2).",
    "quantity_orig": "The quantity as the file gave it.", "unit_orig": "The unit as the file gave it.",
    "note": "Free text from the data.", "extra": "Columns the file had beyond the table's fields (JSON).",
    "import_id": "The import that wrote the row (imports.id).",
    "sd": "Standard deviation of the quantity, in its unit (stated in the data).",
    "sd_rel": "Relative standard deviation (a share of the figure, stated in the data).",
    "quality": "Data-quality class: measured, calculated, estimated or literature.",
    "lat": "Latitude, WGS 84 degrees.", "lon": "Longitude, WGS 84 degrees.",
}
COLUMN_DESCRIPTIONS = {
    "flows": {"source_id": "Supplier (enterprises.id); empty: from outside the park.",
              "target_id": "Taker (enterprises.id); empty: out of the park.",
              "status": "existing, planned or potential (matchmaking plan).",
              "distance_km": "Transport distance as given, km.", "cost_cny_per_yr": "Cost, CNY per year.",
              "boundary": "The outside end: import, export, landfill, air, sewer, grid, stock ..."},
    "enterprises": {"sector_code": "NACE Rev. 2 or GB/T 4754 code.", "output_value_mcny": "Output value, million CNY/yr.",
                    "employees": "Employees.", "role": "firm, utility, environment or external.",
                    "balanced": "Currencies whose balance holds at the firm (reconciliation)."},
    "emissions": {"scope1_t": "Scope 1, tCO2e/yr.", "scope2_t": "Scope 2, tCO2e/yr.",
                  "co2_capture_t": "CO2 captured, tCO2e/yr."},
    "energy_use": {"carrier": "Energy carrier.", "mwh": "Energy, MWh/yr.", "renewable": "Renewable (1) or not (0)."},
    "offsets": {"t_co2e": "Offsets, tCO2e.", "kind": "Kind (a green certificate is not an offset)."},
    "resources": {"code": "Catalogue code.", "canonical_unit": "Unit quantities of this resource are stored in.",
                  "ewc_code": "European Waste Catalogue code.", "energy_mwh_per_t": "Energy content, MWh per t.",
                  "energy_mwh_per_m3": "Energy content, MWh per m3.",
                  "co2_factor": "Avoided CO2 per canonical unit when it replaces virgin supply, tCO2e."},
}
#: Datasette units (pint names) of columns whose unit is the same in every row
_UNITS = {"emissions": {"scope1_t": "t", "scope2_t": "t", "co2_capture_t": "t"},
          "energy_use": {"mwh": "MWh"}, "offsets": {"t_co2e": "t"}, "flows": {"distance_km": "km"},
          "enterprises": {}, "parks": {}}

_QUERIES = {
    "flows_named": {
        "title": "Flows with firm names and units",
        "sql": "SELECT f.id, s.name AS supplier, t.name AS taker, r.name AS resource, f.kind, f.quantity, f.unit, "
               "f.status, f.year FROM flows f LEFT JOIN enterprises s ON s.id = f.source_id LEFT JOIN enterprises t "
               "ON t.id = f.target_id JOIN resources r ON r.code = f.resource_code ORDER BY f.id",
    },
    "park_summary": {
        "title": "Parks: firms and flows (known quantities counted apart)",
        "sql": "SELECT p.id, p.name, (SELECT count(*) FROM enterprises e WHERE e.park_id = p.id) AS firms, "
               "(SELECT count(*) FROM flows f JOIN enterprises e ON e.id = f.source_id WHERE e.park_id = p.id) "
               "AS flows_out, (SELECT count(f.quantity) FROM flows f JOIN enterprises e ON e.id = f.source_id "
               "WHERE e.park_id = p.id) AS flows_out_with_quantity FROM parks p ORDER BY p.id",
    },
}


def datasette_metadata(db_path: str | Path) -> dict:
    """Datasette metadata for the store at ``db_path`` (the database is named after the file).

    Examples
    --------
    >>> metadata = datasette_metadata("park.db")
    >>> metadata["databases"]["park"]["tables"]["flows"]["columns"]["quantity"][:8]
    'Quantity'
    """
    tables = {}
    for table, description in TABLE_DESCRIPTIONS.items():
        columns = dict(_SHARED) if table in TABLES else {}
        columns.update(COLUMN_DESCRIPTIONS.get(table, {}))
        if table in TABLES:
            known = set(TABLES[table].field_names) | {"id", "extra", "import_id", "quantity_orig", "unit_orig"}
            columns = {name: text for name, text in columns.items() if name in known or name in ("sd", "sd_rel")}
        entry: dict = {"description": description}
        if columns:
            entry["columns"] = columns
        if _UNITS.get(table):
            entry["units"] = _UNITS[table]
        tables[table] = entry
    return {"title": "symbiosis store", "description": "Industrial park data loaded by symbiosis (one SQLite file).",
            "databases": {Path(db_path).stem: {"tables": tables, "queries": _QUERIES}}}


def metadata_text(db_path: str | Path) -> str:
    """:func:`datasette_metadata` as JSON text."""
    return json.dumps(datasette_metadata(db_path), ensure_ascii=False, indent=1)
