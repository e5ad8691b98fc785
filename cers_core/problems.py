"""The problem report: every student, teacher, section or school left out, and why.

One row per problem, with the severity that decides what the analyst must do:

- ``error``: CERS would reject the file, or a requested school cannot be exported;
- ``warning``: the file is accepted, but someone will be missing in CERS (a student without
  SSID, a teacher without login, a group nobody can see);
- ``info``: expected exclusions worth being able to explain (an enrollment that ended, an
  empty section, a name made unique).

The report is shown to the analyst, who is entitled to see it; it is never logged.
"""

from __future__ import annotations

import polars as pl

__all__ = ["PROBLEM_COLUMNS", "SEVERITIES", "Problems"]

SEVERITIES = ("error", "warning", "info")
PROBLEM_COLUMNS = pl.Schema(
    {
        "severity": pl.String,
        "code": pl.String,
        "school": pl.String,
        "school_id": pl.String,
        "section": pl.String,
        "class_id": pl.String,
        "group_name": pl.String,
        "user_id": pl.String,
        "person": pl.String,
        "local_id": pl.String,
        "message": pl.String,
    }
)


def _column(frame: pl.DataFrame, *names: str) -> pl.Expr:
    present = [pl.col(n).cast(pl.String) for n in names if n in frame.columns]
    return pl.coalesce(present) if present else pl.lit(None, dtype=pl.String)


class Problems:
    """Collects report rows from frames of the builder's intermediate steps."""

    def __init__(self) -> None:
        self._parts: list[pl.DataFrame] = []

    def add(self, frame: pl.DataFrame, severity: str, code: str, message: str | pl.Expr) -> None:
        """One report row per row of ``frame``, taking whichever known columns it has."""
        if frame.height == 0:
            return
        has_person = "given_name" in frame.columns or "family_name" in frame.columns
        person = (
            pl.concat_str([pl.col("given_name").fill_null(""), pl.col("family_name").fill_null("")], separator=" ")
            .str.strip_chars()
            .replace("", None)
            if has_person
            else pl.lit(None, dtype=pl.String)
        )
        text = pl.lit(message) if isinstance(message, str) else message
        self._parts.append(
            frame.select(
                severity=pl.lit(severity),
                code=pl.lit(code),
                school=_column(frame, "school_name", "school_id"),
                school_id=_column(frame, "school_id"),
                section=_column(frame, "group_hint", "title"),
                class_id=_column(frame, "class_id"),
                group_name=_column(frame, "group_name"),
                user_id=_column(frame, "user_id"),
                person=person,
                local_id=_column(frame, "local_id"),
                message=text.cast(pl.String),
            )
        )

    def add_school(self, school_id: str, school_name: str, severity: str, code: str, message: str) -> None:
        frame = pl.DataFrame({"school_id": [school_id], "school_name": [school_name]})
        self.add(frame, severity, code, message)

    def frame(self, group_names: pl.DataFrame | None = None) -> pl.DataFrame:
        """The report, errors first; ``group_names`` (class_id, group_name) fills in the group a
        member-level problem belongs to, once names are known."""
        if not self._parts:
            return pl.DataFrame(schema=PROBLEM_COLUMNS)
        report = pl.concat(self._parts)
        if group_names is not None and group_names.height:
            names = group_names.group_by("class_id", maintain_order=True).agg(pl.col("group_name").first())
            report = (
                report.join(names, on="class_id", how="left", suffix="_final")
                .with_columns(group_name=pl.coalesce("group_name", "group_name_final"))
                .drop("group_name_final")
            )
        rank = pl.col("severity").replace_strict(list(SEVERITIES), list(range(len(SEVERITIES))))
        return report.with_row_index("_order").sort(rank, "_order").drop("_order").select(PROBLEM_COLUMNS.names())
