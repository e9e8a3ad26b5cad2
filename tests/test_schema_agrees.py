"""The store's SQL (migrations in symbiosis.store, never edited once released) and the input specs
(symbiosis.schema.TABLES) describe the same tables: this test is what keeps the two in step."""
import sqlite3

import pytest

from symbiosis.schema import TABLES
from symbiosis.store import DATA_TABLES, open_store

#: the SQL type each spec type is stored as
_SQL_TYPE = {"text": "TEXT", "real": "REAL", "int": "INTEGER", "year": "INTEGER", "bool": "INTEGER",
             "currencies": "TEXT"}
#: an uncertainty column is stored as these (emissions: relative only, a row holds several figures)
_UNCERTAINTY_COLUMNS = {"flows": ("sd", "sd_rel"), "offers": ("sd", "sd_rel"), "demands": ("sd", "sd_rel"),
                        "emissions": ("sd_rel",)}


@pytest.fixture(scope="module")
def store():
    return open_store(":memory:")


def _columns(store, table):
    return {row[1]: {"type": row[2], "notnull": bool(row[3]), "pk": bool(row[5])}
            for row in store.execute(f"PRAGMA table_info({table})")}


def _stored_name(spec, field_name, columns):
    """A field the importer converts keeps its written value in ``<field>_orig`` (energy use's
    quantity and unit, emissions' unit)."""
    if field_name in columns:
        return field_name
    return field_name + "_orig"


def test_every_spec_has_its_table_and_every_table_its_spec(store):
    assert set(TABLES) == set(DATA_TABLES)
    assert set(DATA_TABLES) <= set(store.table_names())


@pytest.mark.parametrize("name", list(TABLES))
def test_fields_are_columns_of_the_stored_type(store, name):
    spec, columns = TABLES[name], _columns(store, name)
    for field in spec.fields:
        if field.type == "uncertainty":  # stored as an absolute and a relative standard deviation
            assert all(columns.get(part, {}).get("type") == "REAL" for part in _UNCERTAINTY_COLUMNS[name]), name
            continue
        stored = _stored_name(spec, field.name, columns)
        assert stored in columns, f"{name}.{field.name} has no column"
        sql_type = columns[stored]["type"]
        expected = "REAL" if stored.endswith("_orig") and field.type == "real" else _SQL_TYPE[field.type]
        assert sql_type == expected, f"{name}.{stored}: {sql_type}, spec says {field.type}"
    assert columns[spec.key]["pk"], f"{name}: the spec's key {spec.key} is not the primary key"
    assert "extra" in columns  # columns a file has beyond the spec are kept there


@pytest.mark.parametrize("name", list(TABLES))
def test_references_are_foreign_keys(store, name):
    spec = TABLES[name]
    foreign = {row[3]: (row[2], row[4]) for row in store.execute(f"PRAGMA foreign_key_list({name})")}
    for field in spec.fields:
        if field.references:
            assert foreign.get(field.name) == (field.references, TABLES[field.references].key), \
                f"{name}.{field.name} references {field.references} in the spec, not in SQL"
    spec_references = {field.name for field in spec.fields if field.references}
    assert set(foreign) - {"import_id"} == spec_references  # import_id: provenance, set by the importer


@pytest.mark.parametrize("name", list(TABLES))
def test_required_fields_are_not_null(store, name):
    spec, columns = TABLES[name], _columns(store, name)
    for field in spec.fields:
        if field.required:
            assert columns[_stored_name(spec, field.name, columns)]["notnull"], f"{name}.{field.name}"


@pytest.mark.parametrize("name", [name for name, spec in TABLES.items() if spec.key_from_natural_only])
def test_a_natural_key_only_table_is_unique_on_it(store, name):
    spec = TABLES[name]
    unique = []
    for _, index_name, is_unique, *_ in store.execute(f"PRAGMA index_list({name})"):
        if is_unique:
            unique.append(tuple(row[2] for row in store.execute(f"PRAGMA index_info('{index_name}')")))
    assert spec.natural_key in unique


@pytest.mark.parametrize("name", [name for name, spec in TABLES.items()
                                  if any(field.choices for field in spec.fields)])
def test_choices_are_checked_by_the_store_too(store, name):
    """A value outside a choice field's choices is refused by SQL as well as by the importer, for
    the fields the store checks (kind and status; role is checked by the importer only)."""
    spec = TABLES[name]
    checked = [field for field in spec.fields if field.choices and field.name in ("kind", "status", "quality")
               and field.name in _columns(store, name)]
    sql = store.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
    for field in checked:
        assert f"{field.name} IN (" in sql, f"{name}.{field.name} has no CHECK"
        with pytest.raises(sqlite3.IntegrityError):
            store.execute(f"INSERT INTO {name} ({field.name}) VALUES ('no such choice')")
