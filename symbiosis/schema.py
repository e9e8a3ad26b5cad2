"""What each table accepts from a file: fields, types, keys, references and quantities.

This is the input side of the data model (the SQL side is in :mod:`symbiosis.store`). The importer
validates every row against these specs before anything is written.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import UnknownIdError
from .units import KINDS
from .settings import MAX_MAGNITUDE

__all__ = ["Field", "TableSpec", "TABLES", "FLOW_STATUSES", "QUALITY_CLASSES", "BOUNDARY_PREFIX", "ROLES", "NON_FIRM_ROLES",
           "MAX_MAGNITUDE", "escape_key_part", "natural_key"]

FLOW_STATUSES = ("existing", "planned", "potential")
#: how a stated figure was obtained, from the most to the least certain; a figure without a stated
#: uncertainty takes its class's default (:data:`symbiosis.uncertainty.DEFAULT_RELATIVE_SD`)
QUALITY_CLASSES = ("measured", "calculated", "estimated", "literature")
#: what a node of the enterprises table is: a firm (the default), or part of the park's boundary: a
#: utility network (power or gas grid, water mains), the environment (a lake, the sea, the air) or
#: external actors (other mills, local farmers) that analyses must not count as the park's firms
ROLES = ("firm", "utility", "environment", "external")
NON_FIRM_ROLES = ROLES[1:]
#: graph node ids of the park boundary start with this; no enterprise id may
BOUNDARY_PREFIX = "boundary:"
#: the largest magnitude a number may have once converted to its canonical unit (t, MWh, m3, tCO2e per
#: year; CNY; km; people). A thousand times the world's yearly material use (about 1e11 t), so no real
#: figure comes near it, while a million rows of it still sum to a finite number (1e21): larger values
#: are refused at import, so that park totals never overflow to infinity

#: characters that join the parts of a generated key ('power>refinery:steam:2002'): inside a part
#: they are percent-escaped, so that two different rows never share a key ('a>b' -> 'c' and 'a' ->
#: 'b>c' stay apart), while the keys of ordinary ids are what they always were
_KEY_ESCAPES = (("%", "%25"), (">", "%3E"), (":", "%3A"))
_KEY_SPECIAL = re.compile(r"[%>:]")


def escape_key_part(text: str) -> str:
    """One part of a generated key, with ``%``, ``>`` and ``:`` percent-escaped.

    Examples
    --------
    >>> escape_key_part("power"), escape_key_part("a>b"), escape_key_part("50%:x")
    ('power', 'a%3Eb', '50%25%3Ax')
    """
    if not _KEY_SPECIAL.search(text):
        return text
    for char, escaped in _KEY_ESCAPES:
        text = text.replace(char, escaped)
    return text


def natural_key(table: str, parts: Sequence[str]) -> str:
    """The stored key of a row identified by its natural key (``TableSpec.natural_key``), each part
    as text (``""`` for none; a year as digits). Flows read ``source>target:resource:year``; other
    tables join their parts with ``:``.

    Examples
    --------
    >>> natural_key("flows", ["power", "refinery", "steam", "2002"])
    'power>refinery:steam:2002'
    >>> natural_key("flows", ["a>b", "c", "steam", ""]) != natural_key("flows", ["a", "b>c", "steam", ""])
    True
    """
    return TABLES[table].join_key([escape_key_part(part) for part in parts])


@dataclass(frozen=True)
class Field:
    """One column a file may carry for a table.

    ``type`` is one of text, real, int, year, bool, uncertainty (a standard deviation in the row's
    unit, ``120``, or a relative one, ``10 %``; stored as ``sd`` in the canonical unit or ``sd_rel``),
    currencies (a list of currencies, or all or none). ``references`` names the table whose key the value
    must be (in the store or in the same import). ``minimum``/``maximum`` bound numbers.
    """

    name: str
    type: str = "text"
    required: bool = False
    references: str | None = None
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: object = None


@dataclass(frozen=True)
class TableSpec:
    """How a file becomes rows of one table.

    Parameters
    ----------
    key : str
        The primary-key column.
    natural_key : tuple of str
        Columns that identify a row when the file gives no key (flows: source, target, resource, year).
        The stored key is then built from them, so a re-import updates the same row.
    key_from_natural_only : bool
        The key is always built from the natural key (emissions: one row per firm and year).
    quantity : str or None
        The column holding a quantity that has a unit (flows, offers, demands, energy_use).
    unit_rule : {'resource', 'energy', 'co2'} or None
        How the rows' quantities get their unit: 'resource' (the resource's kind says the currency and
        its canonical unit: t, MWh, m3 or tCO2e; names are resolved to catalogue codes first), 'energy'
        (MWh, or a quantity of a carrier in its own unit converted to MWh), 'co2' (each field of
        ``unit_fields`` in tCO2e, each with its own unit where the header gives one).
    unit_fields : tuple of str
        Fields holding a figure converted to a canonical unit at import; a header may give their unit
        (``Quantity (t/yr)``, ``Scope 1 (kt CO2-e)``).
    key_joins : tuple of str
        The text between the natural key's parts in a built key (default ``:`` between each).
    reserved_prefix : str or None
        Keys may not start with this (enterprises: the park-boundary node prefix).
    one_of : tuple of str
        A file must give at least one of these columns; ``one_of_label`` names them in the error.
    one_of_each_row : str or None
        When set, each row must give a value in one of ``one_of``; the error says this.
    defines_resources : bool
        The table is the resource catalogue: later files of an import convert against its rows.
    unknown_quantity_note : str
        What the import report says of rows without a quantity.
    """

    name: str
    key: str
    fields: tuple[Field, ...]
    natural_key: tuple[str, ...] = ()
    key_from_natural_only: bool = False
    quantity: str | None = None
    unit_rule: str | None = None
    unit_fields: tuple[str, ...] = ()
    key_joins: tuple[str, ...] = ()
    reserved_prefix: str | None = None
    one_of: tuple[str, ...] = ()
    one_of_label: str = ""
    one_of_each_row: str | None = None
    defines_resources: bool = False
    unknown_quantity_note: str = "kept; quantity-based figures for them are unknown"

    def join_key(self, parts: Sequence[Any]) -> Any:
        """The natural key's parts (already escaped texts, or Series of them) joined as a stored key."""
        joins = self.key_joins or (":",) * (len(parts) - 1)
        key = parts[0]
        for join, part in zip(joins, parts[1:]):
            key = key + join + part
        return key

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise UnknownIdError(f"table {self.name} has no field {name!r}")


_LAT = Field("lat", type="real", minimum=-90.0, maximum=90.0)
_LON = Field("lon", type="real", minimum=-180.0, maximum=180.0)
_KIND = Field("kind", choices=KINDS)
_UNCERTAINTY = Field("uncertainty", type="uncertainty")
_QUALITY = Field("quality", choices=QUALITY_CLASSES)
_EXCHANGE_FIELDS = (
    Field("id"),
    Field("enterprise_id", required=True, references="enterprises"),
    Field("resource_code", required=True, references="resources"),
    _KIND,
    Field("quantity", type="real", minimum=0.0),
    Field("unit"),
    Field("year", type="year"),
    Field("note"),
    _UNCERTAINTY,
    _QUALITY,
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("parks", "id", (
            Field("id", required=True),
            Field("name", required=True),
            Field("country"),
            Field("region"),
            _LAT,
            _LON,
        )),
        TableSpec("resources", "code", defines_resources=True, fields=(
            Field("code", required=True),
            Field("name"),
            Field("kind", required=True, choices=KINDS),
            Field("canonical_unit"),
            Field("ewc_code"),
            Field("energy_mwh_per_t", type="real", minimum=0.0),
            Field("energy_mwh_per_m3", type="real", minimum=0.0),
            Field("co2_factor", type="real"),
            Field("note"),
        )),
        TableSpec("enterprises", "id", reserved_prefix=BOUNDARY_PREFIX, fields=(
            Field("id", required=True),
            Field("name", required=True),
            Field("park_id", references="parks"),
            Field("sector_code"),
            Field("sector_name"),
            _LAT,
            _LON,
            Field("output_value_mcny", type="real", minimum=0.0),
            Field("employees", type="int", minimum=0),
            Field("role", choices=ROLES, default="firm"),
            Field("balanced", type="currencies"),
        )),
        TableSpec("flows", "id", (
            Field("id"),
            Field("source_id", references="enterprises"),
            Field("target_id", references="enterprises"),
            Field("resource_code", required=True, references="resources"),
            _KIND,
            Field("quantity", type="real", minimum=0.0),
            Field("unit"),
            Field("year", type="year"),
            Field("status", choices=FLOW_STATUSES, default="existing"),
            Field("distance_km", type="real", minimum=0.0),
            Field("cost_cny_per_yr", type="real"),
            Field("boundary"),
            Field("note"),
            _UNCERTAINTY,
            _QUALITY,
        ), natural_key=("source_id", "target_id", "resource_code", "year"), key_joins=(">", ":", ":"),
            quantity="quantity", unit_rule="resource", unit_fields=("quantity",),
            one_of=("source_id", "target_id"), one_of_label="source_id or target_id",
            one_of_each_row="a flow needs a source_id or a target_id (one empty end = crosses the park boundary)",
            unknown_quantity_note="kept as links; flow-weighted analyses leave them out"),
        TableSpec("offers", "id", _EXCHANGE_FIELDS, natural_key=("enterprise_id", "resource_code", "year"),
                  quantity="quantity", unit_rule="resource", unit_fields=("quantity",)),
        TableSpec("demands", "id", _EXCHANGE_FIELDS, natural_key=("enterprise_id", "resource_code", "year"),
                  quantity="quantity", unit_rule="resource", unit_fields=("quantity",)),
        TableSpec("emissions", "id", (
            Field("enterprise_id", required=True, references="enterprises"),
            Field("year", type="year", required=True),
            Field("scope1_t", type="real", minimum=0.0),
            Field("scope2_t", type="real", minimum=0.0),
            Field("co2_capture_t", type="real", minimum=0.0),
            Field("unit"),
            _UNCERTAINTY,
            _QUALITY,
        ), natural_key=("enterprise_id", "year"), key_from_natural_only=True, unit_rule="co2",
            unit_fields=("scope1_t", "scope2_t", "co2_capture_t")),
        TableSpec("energy_use", "id", (
            Field("enterprise_id", required=True, references="enterprises"),
            Field("year", type="year", required=True),
            Field("carrier", required=True),
            Field("mwh", type="real", minimum=0.0),
            Field("quantity", type="real", minimum=0.0),
            Field("unit"),
            Field("renewable", type="bool"),
        ), natural_key=("enterprise_id", "year", "carrier"), key_from_natural_only=True, quantity="quantity",
            unit_rule="energy", unit_fields=("quantity", "mwh"), one_of=("mwh", "quantity"),
            one_of_label="mwh (or quantity and unit)"),
        TableSpec("offsets", "id", (
            Field("park_id", required=True, references="parks"),
            Field("year", type="year", required=True),
            Field("t_co2e", type="real", minimum=0.0),
            Field("kind", default="unspecified"),
        ), natural_key=("park_id", "year", "kind"), key_from_natural_only=True),
    )
}
