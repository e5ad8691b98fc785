"""A district's school list, whatever the rosters were read from: the table the school picker,
``schools`` and the export's report show, and the schools a person asks for resolved against it.

    >>> import polars as pl
    >>> schools = pl.DataFrame({
    ...     "sourced_id": ["sch-2", "sch-1"],
    ...     "name": ["Roosevelt Middle", "Lincoln High"],
    ...     "identifier": ["01612590130146", "not a CDS code"],
    ... })
    >>> listed = school_table(schools, GroupOptions())
    >>> listed.select("sourced_id", "name", "cds").rows()
    [('sch-1', 'Lincoln High', None), ('sch-2', 'Roosevelt Middle', '01612590130146')]
    >>> resolve_schools(listed, ["01612590130146", "sch-1"])
    ['sch-2', 'sch-1']
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cers_core.errors import SettingsError
from cers_core.identifiers import cds_code
from cers_core.settings import GroupOptions

__all__ = ["resolve_schools", "school_table"]


def school_table(schools: pl.DataFrame, options: GroupOptions) -> pl.DataFrame:
    """The ``schools`` roster frame as the school list shows it: ``sourced_id``, ``name``,
    ``identifier``, ``cds`` (null when unusable), by name; whatever the rosters were read from."""
    return schools.select(
        "sourced_id",
        "name",
        "identifier",
        cds=cds_code(pl.col("identifier"), pl.col("sourced_id"), options.cds_map),
    ).sort(pl.col("name").str.to_lowercase(), "sourced_id")


def resolve_schools(schools: pl.DataFrame, wanted: Sequence[str]) -> list[str]:
    """SourcedIds for the schools asked for by sourcedId or CDS code; unknown ones are a usage error."""
    by_id = set(schools["sourced_id"].to_list())
    by_cds = {cds: sid for sid, cds in schools.select("sourced_id", "cds").iter_rows() if cds}
    found: list[str] = []
    unknown: list[str] = []
    for item in wanted:
        item = item.strip()
        sid = item if item in by_id else by_cds.get(item)
        if sid is None:
            unknown.append(item)
        elif sid not in found:
            found.append(sid)
    if unknown:
        raise SettingsError(
            f"No school with the sourcedId or CDS code {', '.join(unknown)} in this district.",
            field="school",
            hint="List the schools with the 'schools' command (or the School Selection table) and use one of those.",
        )
    return found
