"""What sending a group file will change in CERS, compared with the file sent (or downloaded) before.

CERS's re-upload rules (reference §2.3, §5) decide what "a change" is:

- a group is keyed by (school, name, year); names compare as CERS's database compares them
  (``utf8_unicode_ci``: case and accents ignored, and spaces at the ends, which the loader
  trims); logins compare ignoring case, SSIDs exactly;
- a group in the new file gets exactly the new file's members: teachers and students
  *added* and *removed* are the difference per group;
- a group that is in the old file but not in the new one **disappears** from the file but
  not from CERS: CERS keeps it, with its members, until someone deletes it there;
- a **renamed** group (the same section under a new name, e.g. after a change of the
  group-name fields or of the teacher in the name) is a new group to CERS, and the old one
  stays. Renames are found by section: when both files come with the sections their groups
  were made from (``class_id``), a group that changed name but kept its section is renamed;
  otherwise by members: an old and a new group of the same school and year whose teachers
  and students are mostly the same (at least 70% of the two groups' members together are in
  both).

Files are read with the validator's streaming reader (:func:`cers_core.cers_csv.rows.read_group_rows`):
memory holds the members as columns, never the file's text. The comparison is a handful of
joins over those columns.

A student added to a group (an export's file compares the same way, with its sections:
``group_file(export.rows, sections=export.groups)``):

>>> header = b"group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\\r\\n"
>>> sent = header + b"Algebra 1,01612590130146,2027,All,1234567890,\\r\\n"
>>> later = sent + b"Algebra 1,01612590130146,2027,All,2234567890,\\r\\n"
>>> print(diff_group_files(group_file(sent), group_file(later)).to_text().splitlines()[-1])
    + student 2234567890
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final

import polars as pl

from cers_core.cers_csv.rows import read_group_rows
from cers_core.cers_csv.validator import Source

__all__ = ["GroupDiff", "GroupFile", "diff_group_files", "group_file", "name_key"]

_KEY: Final = ("school_natural_id", "school_year", "group_key")
_SIMILAR: Final = 0.7
_DETAIL_LINES: Final = 2_000
_GROUP_COLUMNS: Final = {
    "change": pl.String,
    "school_natural_id": pl.String,
    "school_year": pl.Int64,
    "group_name": pl.String,
    "old_name": pl.String,
    "matched_by": pl.String,
    "subject_code": pl.String,
    "old_subject_code": pl.String,
    "teachers": pl.UInt32,
    "students": pl.UInt32,
    "teachers_added": pl.UInt32,
    "teachers_removed": pl.UInt32,
    "students_added": pl.UInt32,
    "students_removed": pl.UInt32,
}
_MEMBER_COLUMNS: Final = {
    "school_natural_id": pl.String,
    "school_year": pl.Int64,
    "group_name": pl.String,
    "role": pl.String,
    "person": pl.String,
    "change": pl.String,
    "note": pl.String,
}
_CHANGE_ORDER: Final = {"disappears": 0, "renamed": 1, "changed": 2, "added": 3}


def name_key(name: str) -> str:
    """A group name as CERS's database compares it: ends trimmed, case and accents ignored.

    >>> name_key("  Álgebra 1 ") == name_key("ALGEBRA 1")
    True
    """
    decomposed = unicodedata.normalize("NFKD", name.strip(" ").casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@dataclass(frozen=True)
class GroupFile:
    """The groups and members of one group file, keyed as CERS keys them.

    ``groups``: ``school_natural_id, school_year, group_key, group_name`` (as first written),
    ``subject_code`` (the first one given, else null) and ``class_id`` (the section, when known).
    ``members``: ``school_natural_id, school_year, group_key, role`` (``teacher``/``student``),
    ``member_key`` (compared) and ``person`` (as written), each once.
    ``skipped_rows``: rows without a school, a name or a year that is a number (CERS would
    reject such a file; they are left out of the comparison).
    """

    groups: pl.DataFrame
    members: pl.DataFrame
    skipped_rows: int


def group_file(source: Source | pl.DataFrame, *, sections: pl.DataFrame | None = None) -> GroupFile:
    """Read a group file (bytes, a path or a binary stream), or take rows already read (the six
    CERS columns, e.g. ``GroupExport.rows``). ``sections``, when given, names each group's
    section: ``school_natural_id, school_year, group_name, class_id`` (e.g. ``GroupExport.groups``).
    """
    rows = source if isinstance(source, pl.DataFrame) else read_group_rows(source)
    text = ("group_name", "school_natural_id", "subject_code", "student_ssid", "group_user_login")
    rows = rows.select(
        *(pl.col(name).cast(pl.String).fill_null("").str.strip_chars(" ").alias(name) for name in text),
        pl.col("school_year").cast(pl.String).str.strip_chars(" ").cast(pl.Int64, strict=False),
    )
    usable = (pl.col("group_name") != "") & (pl.col("school_natural_id") != "") & pl.col("school_year").is_not_null()
    skipped = rows.height - rows.filter(usable).height
    rows = rows.filter(usable).with_row_index("order")
    rows = rows.with_columns(group_key=_name_keys(rows["group_name"]))
    first_subject = pl.col("subject_code").filter(pl.col("subject_code") != "").first()
    groups = (
        rows.group_by(_KEY, maintain_order=True)
        .agg(pl.col("group_name").first(), subject_code=first_subject)
        .with_columns(
            pl.when(pl.col("subject_code").str.to_lowercase() == "all")
            .then(pl.lit("All"))
            .otherwise(pl.col("subject_code"))
            .alias("subject_code")
        )
    )
    if sections is not None and sections.height:
        named = sections.select(
            pl.col("school_natural_id").cast(pl.String),
            pl.col("school_year").cast(pl.Int64),
            _name_keys(sections["group_name"].cast(pl.String)).alias("group_key"),
            pl.col("class_id").cast(pl.String),
        ).unique(_KEY, keep="first")
        groups = groups.join(named, on=list(_KEY), how="left")
    else:
        groups = groups.with_columns(class_id=pl.lit(None, pl.String))
    teachers = rows.filter(pl.col("group_user_login") != "").select(
        *_KEY, role=pl.lit("teacher"), member_key=pl.col("group_user_login").str.to_lowercase(),
        person=pl.col("group_user_login"),
    )  # fmt: skip
    students = rows.filter(pl.col("student_ssid") != "").select(
        *_KEY, role=pl.lit("student"), member_key=pl.col("student_ssid"), person=pl.col("student_ssid")
    )
    members = pl.concat([teachers, students]).unique([*_KEY, "role", "member_key"], keep="first", maintain_order=True)
    return GroupFile(groups=groups, members=members, skipped_rows=skipped)


def _name_keys(names: pl.Series) -> pl.Series:
    """:func:`name_key` of each name, computed once per distinct name."""
    distinct = names.unique().to_list()
    mapping = {name: name_key(name) for name in distinct if name is not None}
    return names.replace_strict(mapping, default=None, return_dtype=pl.String).alias("group_key")


@dataclass(frozen=True)
class GroupDiff:
    """What changes in CERS when the new file is sent after the old one.

    ``groups``: one row per group that changes (``change``: ``added``, ``disappears``,
    ``renamed``, ``changed``), with the counts of teachers and students added and removed;
    for a renamed group ``old_name`` and how it was matched (``section`` or ``members``).
    ``members``: one row per teacher or student added to or removed from a group that is in
    both files (renamed ones included), with a ``note`` for a student who moved to another
    group and a teacher who is in no group of the school any more.
    """

    groups: pl.DataFrame
    members: pl.DataFrame
    unchanged: int
    old_groups: int
    new_groups: int
    skipped_rows: int = 0

    @property
    def has_changes(self) -> bool:
        return self.groups.height > 0

    def counts(self) -> dict[str, int]:
        """Groups per kind of change, and ``unchanged``."""
        by_change = dict(self.groups.group_by("change").len().iter_rows())
        return {kind: int(by_change.get(kind, 0)) for kind in _CHANGE_ORDER} | {"unchanged": self.unchanged}

    def summary(self, *, sent: bool = True) -> list[str]:
        """The difference in a few plain sentences, what CERS will do and what to do about it.

        ``sent`` says the earlier file was sent to CERS; when it may not have been (it was only
        downloaded), an unchanged file is not said to change nothing in CERS.
        """
        counts = self.counts()
        lines = [
            f"The earlier file had {_n(self.old_groups, 'group')}, this one has {self.new_groups:,}: "
            f"{counts['added']:,} added, {counts['disappears']:,} no longer in the file, {counts['renamed']:,} "
            f"renamed, {counts['changed']:,} with other members, {counts['unchanged']:,} unchanged."
        ]
        if not self.has_changes and sent:
            lines.append("Nothing changes in CERS: every group has the same name and members as before.")
        elif not self.has_changes:
            lines.append(
                "Every group has the same name and members as in the earlier file. If that file was uploaded to "
                "CERS, nothing changes there; if it was not, sending this one creates these groups."
            )
        if counts["disappears"]:
            lines.append(
                f"{_n(counts['disappears'], 'group')} of the earlier file {_are(counts['disappears'])} not in this "
                "one. CERS keeps such groups as they are (an upload never deletes a group), so their teachers still "
                "see those students. To remove one, delete it in CERS (Manage Student Groups), or send it once with "
                "its teacher rows only, which leaves it without students."
            )
        if counts["renamed"]:
            lines.append(
                f"{_n(counts['renamed'], 'group')} {_are(counts['renamed'])} renamed (same section, new name). CERS "
                "will create each new name as a new group and keep the old one with its old members: delete the "
                "old groups in CERS, or keep the earlier group-name fields so that the names stay the same."
            )
        members = self.members
        if members.height:
            tally = dict(members.group_by("role", "change").len().select(pl.concat_str("role", "change"), "len").rows())
            lines.append(
                f"In groups that are in both files: {_n(tally.get('teacheradded', 0), 'teacher')} and "
                f"{_n(tally.get('studentadded', 0), 'student')} added, {_n(tally.get('teacherremoved', 0), 'teacher')} "
                f"and {_n(tally.get('studentremoved', 0), 'student')} removed (an upload replaces each group's "
                "members)."
            )
            moved = members.filter(pl.col("note").str.starts_with("moved to")).select("person").n_unique()
            if moved:
                lines.append(f"{_n(moved, 'student')} moved from one group to another.")
            left = members.filter(pl.col("note").str.starts_with("in no group")).select("school_natural_id", "person")
            if left.height:
                lines.append(
                    f"{_n(left.n_unique(), 'teacher')} {_are(left.n_unique())} in no group of their school any more: "
                    "they lose access to those students' results once the file is processed."
                )
        if self.skipped_rows:
            lines.append(
                f"{_n(self.skipped_rows, 'row')} without a group name, school or numeric year could not be compared."
            )
        return lines

    def to_text(self) -> str:
        """The summary, then each changed group with its members added and removed (for the command line)."""
        lines = [*self.summary()]
        members = self.members.partition_by("school_natural_id", "school_year", "group_name", as_dict=True)
        shown = 0
        for group in self.groups.iter_rows(named=True):
            if shown >= _DETAIL_LINES:
                lines.append(f"… and more; {self.groups.height:,} groups change in all.")
                break
            lines.append("")
            lines.append(_describe_group(group))
            shown += 1
            changes = members.get((group["school_natural_id"], group["school_year"], group["group_name"]))
            if changes is None:
                continue
            for item in changes.iter_rows(named=True):
                sign = "+" if item["change"] == "added" else "-"
                note = f" ({item['note']})" if item["note"] else ""
                lines.append(f"    {sign} {item['role']} {item['person']}{note}")
                shown += 1
        return "\n".join(lines)


def _n(number: object, noun: str) -> str:
    number = int(number)  # type: ignore[call-overload]
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _are(number: int) -> str:
    return "is" if number == 1 else "are"


def _describe_group(group: dict[str, object]) -> str:
    where = f"[{group['school_natural_id']}, {group['school_year']}]"
    change = group["change"]
    if change == "added":
        members = f"{_n(group['teachers'], 'teacher')}, {_n(group['students'], 'student')}"
        return f"{where} NEW “{group['group_name']}”: {members}."
    if change == "disappears":
        return (
            f"{where} NOT IN THIS FILE “{group['group_name']}” ({_n(group['teachers'], 'teacher')}, "
            f"{_n(group['students'], 'student')}): CERS keeps it unless you delete it there."
        )
    counts = (
        f"+{group['teachers_added']}/-{group['teachers_removed']} teachers, "
        f"+{group['students_added']}/-{group['students_removed']} students"
    )
    subject = ""
    if (group["old_subject_code"] or "All") != (group["subject_code"] or "All"):
        subject = f"; subject {group['old_subject_code'] or 'All'} -> {group['subject_code'] or 'All'}"
    if change == "renamed":
        return (
            f"{where} RENAMED “{group['old_name']}” -> “{group['group_name']}” (same {group['matched_by']}): "
            f"{counts}{subject}. CERS makes it a new group and keeps the old one."
        )
    return f"{where} CHANGED “{group['group_name']}”: {counts}{subject}."


def diff_group_files(old: GroupFile, new: GroupFile) -> GroupDiff:
    """What changes in CERS when ``new`` is sent after ``old``; see the module docstring."""
    key = list(_KEY)
    old_groups, new_groups = old.groups, new.groups
    only_old = old_groups.join(new_groups, on=key, how="anti")
    only_new = new_groups.join(old_groups, on=key, how="anti")
    pairs = _renames(only_old, only_new, old.members, new.members)
    # A pair: old key -> new key. Same-name groups pair with themselves.
    same = old_groups.join(new_groups.select(key), on=key, how="semi").select(
        *key, new_key=pl.col("group_key"), matched_by=pl.lit("name")
    )
    matched = pl.concat([same, pairs], how="vertical_relaxed")

    old_members = old.members.join(matched.select(*key, "new_key"), on=key).drop("group_key")
    new_members = new.members.rename({"group_key": "new_key"}).join(
        matched.select("school_natural_id", "school_year", "new_key"),
        on=["school_natural_id", "school_year", "new_key"],
    )
    on = ["school_natural_id", "school_year", "new_key", "role", "member_key"]
    added = new_members.join(old_members, on=on, how="anti").select(*on, "person", change=pl.lit("added"))
    removed = old_members.join(new_members, on=on, how="anti").select(*on, "person", change=pl.lit("removed"))
    names = new_groups.select("school_natural_id", "school_year", new_key="group_key", group_name="group_name")
    changes = pl.concat([added, removed]).join(names, on=["school_natural_id", "school_year", "new_key"])
    added_keys = only_new.join(pairs.select(*key[:2], group_key="new_key"), on=key, how="anti").select(key)
    changes = _notes(changes, new, added_keys)

    tallies = changes.group_by("school_natural_id", "school_year", "new_key").agg(
        teachers_added=((pl.col("role") == "teacher") & (pl.col("change") == "added")).sum(),
        teachers_removed=((pl.col("role") == "teacher") & (pl.col("change") == "removed")).sum(),
        students_added=((pl.col("role") == "student") & (pl.col("change") == "added")).sum(),
        students_removed=((pl.col("role") == "student") & (pl.col("change") == "removed")).sum(),
    )
    new_sizes = _sizes(new.members)
    both = (
        matched.join(old_groups.select(*key, old_name="group_name", old_subject_code="subject_code"), on=key)
        .join(
            new_groups.select("school_natural_id", "school_year", "subject_code", "group_name", new_key="group_key"),
            on=["school_natural_id", "school_year", "new_key"],
        )
        .join(tallies, on=["school_natural_id", "school_year", "new_key"], how="left")
        .join(
            new_sizes.rename({"group_key": "new_key"}), on=["school_natural_id", "school_year", "new_key"], how="left"
        )
        .with_columns(pl.col("^(teachers|students).*$").fill_null(0).cast(pl.UInt32))
    )
    subject_changed = (
        pl.col("old_subject_code").fill_null("All").str.to_lowercase()
        != pl.col("subject_code").fill_null("All").str.to_lowercase()
    )
    moved_members = (
        pl.col("teachers_added") + pl.col("teachers_removed") + pl.col("students_added") + pl.col("students_removed")
    ) > 0
    both = both.with_columns(
        change=pl.when(pl.col("matched_by") != "name")
        .then(pl.lit("renamed"))
        .when(moved_members | subject_changed)
        .then(pl.lit("changed"))
        .otherwise(None),
        old_name=pl.when(pl.col("matched_by") != "name").then(pl.col("old_name")),
        matched_by=pl.when(pl.col("matched_by") != "name").then(pl.col("matched_by")),
    )
    unchanged = both.filter(pl.col("change").is_null()).height
    renamed_new = pairs.select("school_natural_id", "school_year", group_key="new_key")
    renamed_old = pairs.select(key)
    added_groups = _alone(only_new.join(renamed_new, on=key, how="anti"), new.members, "added")
    gone_groups = _alone(only_old.join(renamed_old, on=key, how="anti"), old.members, "disappears")
    groups = (
        pl.concat(
            [
                both.filter(pl.col("change").is_not_null()).select(list(_GROUP_COLUMNS)),
                added_groups,
                gone_groups,
            ],
            how="vertical_relaxed",
        )
        .with_columns(pl.col(name).cast(dtype) for name, dtype in _GROUP_COLUMNS.items())
        .sort(
            "school_natural_id",
            "school_year",
            pl.col("change").replace_strict(_CHANGE_ORDER, return_dtype=pl.Int8),
            pl.col("group_name").str.to_lowercase(),
        )
    )
    members = (
        changes.select(list(_MEMBER_COLUMNS))
        .with_columns(pl.col(name).cast(dtype) for name, dtype in _MEMBER_COLUMNS.items())
        .sort("school_natural_id", "school_year", pl.col("group_name").str.to_lowercase(), "role", "change", "person")
    )
    return GroupDiff(
        groups=groups,
        members=members,
        unchanged=unchanged,
        old_groups=old_groups.height,
        new_groups=new_groups.height,
        skipped_rows=old.skipped_rows + new.skipped_rows,
    )


def _sizes(members: pl.DataFrame) -> pl.DataFrame:
    return members.group_by(_KEY).agg(
        teachers=(pl.col("role") == "teacher").sum().cast(pl.UInt32),
        students=(pl.col("role") == "student").sum().cast(pl.UInt32),
    )


def _alone(groups: pl.DataFrame, members: pl.DataFrame, change: str) -> pl.DataFrame:
    """Rows of ``groups`` (added, or no longer in the file) in the shape of ``GroupDiff.groups``."""
    zero = pl.lit(0, pl.UInt32)
    return (
        groups.join(_sizes(members), on=list(_KEY), how="left")
        .with_columns(pl.col("teachers", "students").fill_null(0))
        .select(
            change=pl.lit(change),
            school_natural_id="school_natural_id",
            school_year="school_year",
            group_name="group_name",
            old_name=pl.lit(None, pl.String),
            matched_by=pl.lit(None, pl.String),
            subject_code=pl.col("subject_code") if change == "added" else pl.lit(None, pl.String),
            old_subject_code=pl.col("subject_code") if change != "added" else pl.lit(None, pl.String),
            teachers="teachers",
            students="students",
            teachers_added=zero,
            teachers_removed=zero,
            students_added=zero,
            students_removed=zero,
        )
    )


def _renames(
    only_old: pl.DataFrame, only_new: pl.DataFrame, old_members: pl.DataFrame, new_members: pl.DataFrame
) -> pl.DataFrame:
    """Pairs (old group -> new group) of the same section under another name.

    By section first, where both groups know theirs; then, among groups that do not both
    know a section, by members: the most similar pairs first, each group in one pair at most.
    """
    where = ["school_natural_id", "school_year"]
    empty = pl.DataFrame(
        schema={**dict.fromkeys(where), "group_key": pl.String, "new_key": pl.String, "matched_by": pl.String}
    ).cast({"school_natural_id": pl.String, "school_year": pl.Int64})
    if not only_old.height or not only_new.height:
        return empty
    # A section split into parts ("(1 of 2)"...) has several groups: pair them in name order.
    part = pl.col("group_key").rank("ordinal").over(*where, "class_id").alias("part")
    by_section = (
        only_old.filter(pl.col("class_id").is_not_null())
        .with_columns(part)
        .join(
            only_new.filter(pl.col("class_id").is_not_null())
            .with_columns(part)
            .select(*where, "class_id", "part", new_key="group_key"),
            on=[*where, "class_id", "part"],
        )
        .select(*where, "group_key", "new_key", matched_by=pl.lit("section"))
    )
    old_left = only_old.join(by_section.select(*where, "group_key"), on=[*where, "group_key"], how="anti")
    new_left = only_new.join(by_section.select(*where, group_key="new_key"), on=[*where, "group_key"], how="anti")
    old_in = old_members.join(old_left.select(*where, "group_key", old_class="class_id"), on=[*where, "group_key"])
    new_in = new_members.join(new_left.select(*where, "group_key", new_class="class_id"), on=[*where, "group_key"])
    sizes_old = old_in.group_by(*where, "group_key").len("old_size")
    sizes_new = new_in.group_by(*where, new_key="group_key").len("new_size")
    shared = (
        old_in.join(new_in.rename({"group_key": "new_key"}), on=[*where, "role", "member_key"])
        .filter(pl.col("old_class").is_null() | pl.col("new_class").is_null())
        .group_by(*where, "group_key", "new_key")
        .len("shared")
        .join(sizes_old, on=[*where, "group_key"])
        .join(sizes_new, on=[*where, "new_key"])
        .with_columns(score=pl.col("shared") / (pl.col("old_size") + pl.col("new_size") - pl.col("shared")))
        .filter(pl.col("score") >= _SIMILAR)
        .sort("score", "shared", descending=True)
    )
    taken_old: set[tuple[object, ...]] = set()
    taken_new: set[tuple[object, ...]] = set()
    chosen: list[tuple[object, ...]] = []
    for school, year, old_key, new_key in shared.select(*where, "group_key", "new_key").iter_rows():
        if (school, year, old_key) in taken_old or (school, year, new_key) in taken_new:
            continue
        taken_old.add((school, year, old_key))
        taken_new.add((school, year, new_key))
        chosen.append((school, year, old_key, new_key, "members"))
    by_members = pl.DataFrame(chosen, schema=empty.schema, orient="row")
    return pl.concat([by_section, by_members], how="vertical_relaxed")


def _notes(changes: pl.DataFrame, new: GroupFile, added_groups: pl.DataFrame) -> pl.DataFrame:
    """Say where a removed student went (and where an added one came from), and which teachers
    are in no group of their school any more."""
    where = ["school_natural_id", "school_year"]
    students = changes.filter(pl.col("role") == "student")
    added = students.filter(pl.col("change") == "added").select(*where, "member_key", to_group="group_name")
    removed = students.filter(pl.col("change") == "removed").select(*where, "member_key", from_group="group_name")
    new_names = new.groups.select(*where, "group_key", "group_name")
    # Students in groups new to the file moved there too (those groups have no member changes).
    arrivals = (
        new.members.filter(pl.col("role") == "student")
        .join(added_groups, on=[*where, "group_key"], how="semi")
        .join(new_names, on=[*where, "group_key"])
        .select(*where, "member_key", to_group="group_name")
    )
    went = (
        removed.join(pl.concat([added, arrivals]).unique(), on=[*where, "member_key"])
        .filter(pl.col("from_group") != pl.col("to_group"))
        .group_by(*where, "member_key", "from_group")
        .agg(pl.col("to_group").sort().first())
    )
    came = removed.join(added, on=[*where, "member_key"]).filter(pl.col("from_group") != pl.col("to_group"))
    came = came.group_by(*where, "member_key", "to_group").agg(pl.col("from_group").sort().first())
    teaching = new.members.filter(pl.col("role") == "teacher").select("school_natural_id", "member_key").unique()
    changes = (
        changes.join(went.rename({"from_group": "group_name"}), on=[*where, "member_key", "group_name"], how="left")
        .join(came.rename({"to_group": "group_name"}), on=[*where, "member_key", "group_name"], how="left")
        .join(teaching.with_columns(teaches=pl.lit(True)), on=["school_natural_id", "member_key"], how="left")
    )
    note = (
        pl.when((pl.col("role") == "student") & (pl.col("change") == "removed") & pl.col("to_group").is_not_null())
        .then(pl.lit("moved to “") + pl.col("to_group") + pl.lit("”"))
        .when((pl.col("role") == "student") & (pl.col("change") == "added") & pl.col("from_group").is_not_null())
        .then(pl.lit("moved from “") + pl.col("from_group") + pl.lit("”"))
        .when((pl.col("role") == "teacher") & (pl.col("change") == "removed") & pl.col("teaches").is_null())
        .then(pl.lit("in no group of this school any more"))
        .otherwise(None)
    )
    return changes.with_columns(note=note)
