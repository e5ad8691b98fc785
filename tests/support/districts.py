"""Demo districts changed the way real ones differ: a school without a CDS code, names that hold
Markdown, HTML and terminal escapes."""

from __future__ import annotations

import dataclasses

import polars as pl

from cers_demo import DemoDistrict

__all__ = ["MARKUP", "with_markup_names", "without_cds"]

# What a SIS name could hold that must never become a link, an image, markup or a terminal command.
MARKUP = {
    "link": "[Sign in again](https://evil.example/login)",
    "image": "![x](https://evil.example/x.png)",
    "html": '<img src="https://evil.example/h.png"><a href="https://evil.example/a">a</a>',
    "autolink": "https://evil.example/auto www.evil.example",
    "escape": "\x1b[31mRED\x1b[0m\r",
}


def without_cds(district: DemoDistrict, school: str) -> DemoDistrict:
    """The district with the school of that sourcedId identified by something that is no CDS code."""
    orgs = district.orgs.with_columns(
        identifier=pl.when(pl.col("sourcedId") == school).then(pl.lit("LOCAL-17")).otherwise(pl.col("identifier"))
    )
    return dataclasses.replace(district, orgs=orgs)


def with_markup_names(district: DemoDistrict) -> DemoDistrict:
    """Every school, course and section title and every person's family name with hostile text appended
    (one kind per school, by turns), and one school without a CDS code so that it is named as left out."""
    kinds = list(MARKUP.values())

    def hostile(column: str) -> pl.Expr:
        which = pl.int_range(pl.len()) % len(kinds)
        suffix = pl.lit(pl.Series(kinds)).get(which)
        return pl.concat_str([pl.col(column), pl.lit(" "), suffix])

    orgs = district.orgs.with_columns(
        name=pl.when(pl.col("type") == "school").then(hostile("name")).otherwise(pl.col("name"))
    )
    schools = orgs.filter(pl.col("type") == "school")["sourcedId"]
    changed = dataclasses.replace(
        district,
        orgs=orgs,
        courses=district.courses.with_columns(title=hostile("title")),
        classes=district.classes.with_columns(title=hostile("title")),
        users=district.users.with_columns(familyName=hostile("familyName")),
    )
    return without_cds(changed, schools[0])
