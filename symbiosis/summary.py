"""What a store holds: counts by table, flows by kind and status, quantities, parks."""
from __future__ import annotations

import pandas as pd
import sqlite_utils

from .store import table_counts

__all__ = ["summarise"]


def summarise(db: sqlite_utils.Database) -> dict[str, pd.DataFrame]:
    """Summary tables of a store.

    Returns
    -------
    dict of DataFrame
        ``tables``: table, rows.
        ``flows``: kind, status, flows, with_quantity, quantity, unit (canonical; quantities of
        different units are never summed together; flows without a quantity are counted, not summed),
        with_uncertainty (a stated standard deviation, absolute or relative), with_quality (a data-quality
        class: the flows whose uncertainty a reconciliation or ``--samples`` can take from the data).
        ``parks``: park_id, name, enterprises, internal_flows (both ends in the park),
        crossing_flows (one end in the park, the other outside or at the boundary).
    """
    tables = pd.DataFrame(list(table_counts(db).items()), columns=["table", "rows"])
    flows = pd.DataFrame(
        db.execute(
            "SELECT kind, status, count(*), count(quantity), sum(quantity), unit, "
            "sum(sd IS NOT NULL OR sd_rel IS NOT NULL), count(quality) FROM flows "
            "GROUP BY kind, status, unit ORDER BY kind, status"
        ).fetchall(),
        columns=["kind", "status", "flows", "with_quantity", "quantity", "unit", "with_uncertainty", "with_quality"],
    )
    parks = pd.DataFrame(
        db.execute(
            """
            WITH ends AS (
                SELECT f.id, s.park_id AS source_park, t.park_id AS target_park
                FROM flows f
                LEFT JOIN enterprises s ON s.id = f.source_id
                LEFT JOIN enterprises t ON t.id = f.target_id
            )
            SELECT p.id, p.name,
                (SELECT count(*) FROM enterprises e WHERE e.park_id = p.id),
                (SELECT count(*) FROM ends WHERE source_park = p.id AND target_park = p.id),
                (SELECT count(*) FROM ends WHERE (source_park IS p.id) <> (target_park IS p.id))
            FROM parks p ORDER BY p.id
            """
        ).fetchall(),
        columns=["park_id", "name", "enterprises", "internal_flows", "crossing_flows"],
    )
    return {"tables": tables, "flows": flows, "parks": parks}
