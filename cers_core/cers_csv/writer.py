"""Write CERS student-group files: the six columns, in an order CERS accepts, as UTF-8 CSV with CRLF.

What CERS needs (reference §2, §3.3, §10): the header line exactly as in the official template;
every school's rows together and every group's rows together (CERS checks contiguity, not
alphabetical order); one subject per group; one row per teacher (``student_ssid`` empty) and
one row per student (``group_user_login`` empty), as in the official sample (§2.5), so that the
200 rule, which counts *rows* with an SSID (§2.4), counts students; UTF-8 without a BOM and
one line ending throughout (§2.9: the loader uses the first line ending for the whole file).

We go further than contiguity and sort, so that two exports of the same roster are
byte-identical (CERS skips re-processing identical bytes, §5) and an analyst can find a group:
by school, then school year, then group name ignoring case, then teachers before students.

Everything is done on columns (one sort, one ``write_csv``): two million rows take about a
second.
"""

from __future__ import annotations

import io
from typing import Final

import polars as pl

from cers_core import wording
from cers_core.cers_csv.java_text import fold_case
from cers_core.group_names import casefold, fold_text

__all__ = ["CERS_COLUMNS", "order_cers_rows", "write_cers_csv", "write_ordered_rows"]

CERS_COLUMNS: Final = (
    "group_name",
    "school_natural_id",
    "school_year",
    "subject_code",
    "student_ssid",
    "group_user_login",
)
_TEXT_COLUMNS: Final = ("group_name", "school_natural_id", "subject_code", "student_ssid", "group_user_login")
_GROUP_KEY: Final = ("school_natural_id", "school_year", "group_name")  # CERS's key of a group, in this order
_STUDENT: Final = 1 << 63  # students sort after teachers
_MAX_NUMERIC_DIGITS: Final = 18  # below 2**63


def order_cers_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """The rows exactly as :func:`write_cers_csv` writes them: cleaned, one per member, sorted, unique.

    ``rows`` has the six :data:`CERS_COLUMNS` (any order): ``school_year`` an integer column,
    the rest text; an absent SSID or login is null or ``""``. The result has the columns in
    file order, ``school_year`` as ``Int64`` and ``""`` (never null) for an empty value.

    - Values are trimmed (CERS's loader trims them anyway, but its validator compares the
      school and the year untrimmed, §2.9).
    - A row holding both an SSID and a login becomes a teacher row and a student row (§10.5).
      A group-only row (neither) is kept only for a group that has no member at all.
    - Every row of a group carries the group's subject. Groups are matched ignoring case, as
      CERS's validator does (Java ``equalsIgnoreCase``, §2.3): names that differ only in case
      are one CERS group.
    - Order: ``school_natural_id``, ``school_year``, group name by ``str.casefold`` (then the
      exact name, so that names differing only in case have a fixed order), teachers (by
      login casefolded, then exact) before students (by SSID). ``str.casefold`` is applied
      in Python to the distinct names and logins only; polars' ``to_lowercase`` is not
      casefolding (``"ß"`` stays ``"ß"``), although for the ASCII and Latin text of rosters
      the two differ only on such letters.
    - Identical rows appear once.

    Raises ``ValueError`` when the frame does not have the six columns, when a row lacks a
    group name, school or year, or when one group is given two different subjects: no valid
    file can be written from such rows.

    Example::

        >>> frame = pl.DataFrame({
        ...     "group_name": ["b", "A", "A"], "school_natural_id": ["01612590130146"] * 3,
        ...     "school_year": [2025] * 3, "subject_code": ["All"] * 3,
        ...     "student_ssid": ["1234567890", "", None], "group_user_login": [None, None, "t@x.org"]})
        >>> order_cers_rows(frame).rows()[0]
        ('A', '01612590130146', 2025, 'All', '', 't@x.org')
    """
    _check_columns(rows)
    frame = rows.select(
        *(pl.col(name).cast(pl.String).str.strip_chars().fill_null("").alias(name) for name in _TEXT_COLUMNS),
        pl.col("school_year").cast(pl.Int64),
    )
    _check_keys(frame)
    frame, groups = _with_group_numbers(frame)
    groups = groups.join(_group_subjects(frame), on="_fold", how="left", maintain_order="left").with_columns(
        subject_code=pl.col("_subject").fill_null("")
    )

    teachers = frame.filter(pl.col("group_user_login") != "")
    students = frame.filter(pl.col("student_ssid") != "")
    empty_groups = frame.filter((pl.col("group_user_login") == "") & (pl.col("student_ssid") == "")).join(
        pl.concat([teachers.select("_fold"), students.select("_fold")]).unique(), on="_fold", how="anti"
    )
    # One member key: teachers by login rank, then students (top bit set) by SSID, as a number
    # when every SSID has the same count of digits (so numeric order is alphabetical order).
    ssid_number = _uniform_digits(students.get_column("student_ssid"))
    login_rank, _ = _ranks(teachers.get_column("group_user_login"))
    student_key = pl.lit(_STUDENT, dtype=pl.UInt64)
    if ssid_number is not None:
        student_key = student_key + ssid_number
    # Only the group's number and the member are sorted; the group's text is gathered afterwards
    # from the table of groups, in file order (sorted with the rows, it would be scattered in
    # memory, and writing or checking it would read it a cache miss a value).
    members = pl.concat(
        [
            teachers.select("_group", "group_user_login", student_ssid=pl.lit(""), _member=login_rank.cast(pl.UInt64)),
            students.select("_group", "student_ssid", group_user_login=pl.lit(""), _member=student_key),
            empty_groups.select("_group", "student_ssid", "group_user_login", _member=pl.lit(0, dtype=pl.UInt64)),
        ],
        how="diagonal",
    )
    del frame, teachers, students, empty_groups
    order = _one_sort_key(members, login_rank, ssid_number)
    by = [order] if order is not None else ["_group", "_member", *([] if ssid_number is not None else ["student_ssid"])]
    ordered = members.sort(by)
    # Identical rows are now neighbours (the subject is the group's on every row).
    repeated = pl.all_horizontal(
        pl.col(name).eq_missing(pl.col(name).shift(1)) for name in ("_group", "_member", "student_ssid")
    )
    ordered = ordered.filter(~repeated.fill_null(False))
    at = ordered.get_column("_group")
    return pl.DataFrame(
        [groups.get_column(name).gather(at) for name in CERS_COLUMNS[:4]]
        + [ordered.get_column(name) for name in CERS_COLUMNS[4:]]
    )


def _one_sort_key(members: pl.DataFrame, login_rank: pl.Series, ssid_number: pl.Series | None) -> pl.Expr | None:
    """``_group`` and ``_member`` packed into one 64-bit number, when they fit: sorting by one
    integer column is about twice as fast as by two. None when SSIDs are not numbers, or too long."""
    if ssid_number is None:
        return None
    largest = max(int(login_rank.max() or 0), int(ssid_number.max() or 0))  # type: ignore[call-overload]
    value_bits = max(largest.bit_length(), 1)
    groups = int(members.get_column("_group").max() or 0)  # type: ignore[call-overload]
    if groups.bit_length() + 1 + value_bits > 64:
        return None
    member = pl.col("_member")
    student = member >= _STUDENT
    value = pl.when(student).then(member - pl.lit(_STUDENT, dtype=pl.UInt64)).otherwise(member)
    flag = student.cast(pl.UInt64) * pl.lit(1 << value_bits, dtype=pl.UInt64)
    return pl.col("_group").cast(pl.UInt64) * pl.lit(1 << (value_bits + 1), dtype=pl.UInt64) + flag + value


def write_cers_csv(rows: pl.DataFrame) -> bytes:
    """The CERS file for ``rows``: header, then :func:`order_cers_rows`, UTF-8 without BOM, CRLF after every line.

    Fields are quoted only when they must be (RFC 4180: a comma, a double quote, CR or LF
    inside); upstream group names never hold those (``settings.NAME_FORBIDDEN_CHARS``), but
    a file stays valid CSV if they do. Empty values are written as nothing at all (``,,``),
    as in the official sample (§2.5).

    Example::

        >>> frame = pl.DataFrame({
        ...     "group_name": ["Algebra"], "school_natural_id": ["01612590130146"], "school_year": [2025],
        ...     "subject_code": ["Math"], "student_ssid": ["1234567890"], "group_user_login": [""]})
        >>> write_cers_csv(frame)
        b'group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\\r\\nAlgebra,01612590130146,2025,Math,1234567890,\\r\\n'
    """
    return write_ordered_rows(order_cers_rows(rows))


def write_ordered_rows(ordered: pl.DataFrame) -> bytes:
    """The file for rows that :func:`order_cers_rows` already ordered (so an export that shows
    the ordered rows does not order them twice)."""
    # polars writes "" as a quoted empty field; CERS files leave empty fields bare.
    bare = ordered.with_columns(pl.col(name).replace("", None) for name in _TEXT_COLUMNS)
    out = io.BytesIO()
    bare.write_csv(out, line_terminator="\r\n", quote_style="necessary", include_bom=False)
    return out.getvalue()


def _check_columns(rows: pl.DataFrame) -> None:
    missing = [name for name in CERS_COLUMNS if name not in rows.columns]
    extra = [name for name in rows.columns if name not in CERS_COLUMNS]
    if missing or extra:
        raise ValueError(f"CERS rows need exactly the columns {list(CERS_COLUMNS)}; missing {missing}, extra {extra}")
    if not rows.schema["school_year"].is_integer():
        raise ValueError(f"school_year must be an integer column, not {rows.schema['school_year']}")


def _check_keys(frame: pl.DataFrame) -> None:
    incomplete = frame.filter(
        (pl.col("group_name") == "") | (pl.col("school_natural_id") == "") | pl.col("school_year").is_null()
    )
    if incomplete.height:
        first = incomplete.row(0, named=True)
        raise ValueError(
            f"{wording.count(incomplete.height, 'row')} {'lacks' if incomplete.height == 1 else 'lack'} a group name, "
            "school or school year (CERS rejects such rows), "
            f"e.g. {first}"
        )


def _with_group_numbers(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Number the distinct groups in file order (``_group``), and CERS's groups (``_fold``): the
    rows with their numbers, and the groups (one row each, row ``i`` the group numbered ``i``).

    Rows find their group through a 64-bit hash of (school, year, name): joining two million
    rows on three text columns takes about a second, on one integer a few hundredths. The match
    is then checked on the text itself, and should two groups ever share a hash, the rows are
    matched on the text instead.
    """
    keys = list(_GROUP_KEY)
    hashed = frame.with_columns(_key=_group_hash())
    numbered = _numbered_groups(hashed.select(*keys, "_key").unique("_key"))
    joined = hashed.join(numbered.rename({key: f"_group_{key}" for key in keys}), on="_key", how="left")
    if joined.select(pl.all_horizontal(pl.col(key) == pl.col(f"_group_{key}") for key in keys).all()).item():
        return joined.drop("_key", *(f"_group_{key}" for key in keys)), numbered.drop("_key")
    numbered = _numbered_groups(frame.select(keys).unique())
    return frame.join(numbered, on=keys, how="left"), numbered


def _group_hash() -> pl.Expr:
    return pl.struct(_GROUP_KEY).hash()


def _numbered_groups(groups: pl.DataFrame) -> pl.DataFrame:
    """``groups`` (one row per group) in file order, with ``_group`` and ``_fold`` numbers.

    CERS's validator takes two names for one group when Java's ``equalsIgnoreCase`` says so
    (:func:`~cers_core.cers_csv.java_text.fold_case`); names are ordered by ``str.casefold``,
    then by that key, so that such names are neighbours, then by the exact name. ``_fold``
    numbers CERS's groups in order of their first name.
    """
    name = pl.col("group_name")
    return (
        groups.with_columns(_casefold=casefold(name), _java=fold_text(name, fold_case))
        .sort("school_natural_id", "school_year", "_casefold", "_java", "group_name")
        .with_row_index("_group")
        .with_columns(
            _fold=(pl.col("_group").min().over("school_natural_id", "school_year", "_java").rank("dense") - 1).cast(
                pl.UInt32
            )
        )
        .drop("_casefold", "_java")
    )


def _ranks(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Each value's rank among the distinct values by ``str.casefold`` then exact text, and its casefold's rank.

    Computed once per distinct value (logins and subjects are few), then looked up through a
    polars ``Enum`` whose categories are in rank order, so that its physical codes are the ranks.
    """
    order = sorted(values.unique().to_list(), key=lambda value: (value.casefold(), value))
    folds: list[int] = []
    for index, value in enumerate(order):
        folds.append(0 if index == 0 else folds[-1] + (value.casefold() != order[index - 1].casefold()))
    rank = values.cast(pl.Enum(order)).to_physical().cast(pl.UInt32)
    return rank, pl.Series(folds, dtype=pl.UInt32).gather(rank)


def _uniform_digits(ssids: pl.Series) -> pl.Series | None:
    """The SSIDs as numbers when all are ASCII digits of one length (at most 18), else None."""
    if ssids.is_empty():
        return pl.Series([], dtype=pl.UInt64)
    lengths = ssids.str.len_bytes()
    if lengths.min() != lengths.max() or lengths.max() > _MAX_NUMERIC_DIGITS:  # type: ignore[operator]
        return None
    if not ssids.str.contains(r"^[0-9]+$").all():
        return None
    return ssids.str.to_integer().cast(pl.UInt64)


def _group_subjects(frame: pl.DataFrame) -> pl.DataFrame:
    """Each CERS group's subject (``_fold``, ``_subject``), for every row of the group; two
    different subjects in one group is an error (§2.6)."""
    given = frame.filter(pl.col("subject_code") != "")
    exact, folded = _ranks(given.get_column("subject_code"))
    subjects = (
        given.select("_fold", _exact=exact, _folded=folded)
        .group_by("_fold")
        .agg(_exact=pl.col("_exact").min(), _clash=pl.col("_folded").min() != pl.col("_folded").max())
    )
    clashes = subjects.filter(pl.col("_clash"))
    if clashes.height:
        first = given.join(clashes.head(1), on="_fold")
        names = sorted(set(first.get_column("subject_code").to_list()))
        where = first.row(0, named=True)
        raise ValueError(
            f"{wording.count(clashes.height, 'group')} {'is' if clashes.height == 1 else 'are'} given more than "
            f"one subject, e.g. {where['group_name']!r} at {where['school_natural_id']} ({where['school_year']}): "
            f"{names}; CERS rejects that"
        )
    spelling = given.select(_exact=exact, _subject="subject_code").unique("_exact")
    return subjects.join(spelling, on="_exact").select("_fold", "_subject")
