"""The demo provider's records as OneRoster 1.2 JSON, encoded by polars from the rows of a page.

Each record is built as a polars struct and encoded with ``struct.json_encode`` (in Rust,
several times faster than dicts and ``json.dumps`` for a page of 1,000 users). A struct
has every field, so absent values come out as ``"field":null``; those are then cut out of
the text, because the 1.2 schemas have no nulls. The cut is safe: in JSON text a quote
inside a string is always escaped, so ``,"name":null`` can only be structure.

The record quirks of ``ProviderOptions`` (JSON booleans, 1.1-style users, null identifiers,
relative hrefs, ``ext:`` values, extra fields) change the shape here, and only here.

>>> import json
>>> from cers_demo.district import generate_district
>>> from cers_demo.provider.options import ProviderOptions
>>> encoder = RecordEncoder("http://127.0.0.1:8000/ims/oneroster/rostering/v1p2", ProviderOptions())
>>> json.loads("[" + encoder.encode("orgs", generate_district().orgs.head(1), None) + "]")[0]["type"]
'district'
"""

from __future__ import annotations

import polars as pl

from cers_demo.provider.options import ProviderOptions

__all__ = ["LEGACY_USER_FIELDS", "SCHEMA_FIELDS", "RecordEncoder"]

# The properties of each *DType in the OpenAPI file: what ``fields=`` may select.
# fmt: off
SCHEMA_FIELDS: dict[str, frozenset[str]] = {
    "orgs": frozenset({
        "sourcedId", "status", "dateLastModified", "metadata", "name", "type", "identifier", "parent", "children"
    }),
    "academicSessions": frozenset({
        "sourcedId", "status", "dateLastModified", "metadata", "title", "startDate", "endDate", "type", "parent",
        "children", "schoolYear"
    }),
    "courses": frozenset({
        "sourcedId", "status", "dateLastModified", "metadata", "title", "schoolYear", "courseCode", "grades",
        "subjects", "org", "subjectCodes", "resources"
    }),
    "classes": frozenset({
        "sourcedId", "status", "dateLastModified", "metadata", "title", "classCode", "classType", "location",
        "grades", "subjects", "course", "school", "terms", "subjectCodes", "periods", "resources"
    }),
    "enrollments": frozenset({
        "sourcedId", "status", "dateLastModified", "metadata", "user", "class", "school", "role", "primary",
        "beginDate", "endDate"
    }),
    "users": frozenset({
        "sourcedId", "status", "dateLastModified", "metadata", "userMasterIdentifier", "username", "userIds",
        "enabledUser", "givenName", "familyName", "middleName", "preferredFirstName", "preferredMiddleName",
        "preferredLastName", "pronouns", "roles", "userProfiles", "primaryOrg", "identifier", "email", "sms", "phone",
        "agents", "grades", "password", "resources"
    }),
    "demographics": frozenset({
        "sourcedId", "status", "dateLastModified", "metadata", "birthDate", "sex", "americanIndianOrAlaskaNative",
        "asian", "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white",
        "demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity", "countryOfBirthCode",
        "stateOfBirthAbbreviation", "cityOfBirth", "publicSchoolResidenceStatus"
    }),
}
# fmt: on
# What 1.1-style users (``legacy_user_role``) carry instead of ``roles``.
LEGACY_USER_FIELDS = frozenset({"role", "orgs"})


class RecordEncoder:
    """Encodes rows of a page as OneRoster 1.2 records (or, with quirks, as vendors send them)."""

    _DATE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.3fZ"

    def __init__(self, api_root: str, options: ProviderOptions) -> None:
        self.api_root = api_root
        self.options = options

    def encode(self, frame: str, page: pl.DataFrame, fields: frozenset[str] | None) -> str:
        """The records of ``page`` as JSON texts joined by commas (the inside of a JSON array)."""
        if page.is_empty():
            return ""
        if frame == "users":
            page = _zip_user_lists(page)
        record = {
            name: expression for name, expression in self._fields(frame).items() if fields is None or name in fields
        }
        if not record:  # e.g. fields=metadata: a valid property that these records never have
            return ",".join(["{}"] * page.height)
        if self.options.extra_fields and fields is None:
            record |= {
                "metadata": pl.struct(**{"vendor.rowVersion": pl.lit(7), "vendor.source": pl.lit("nightly sync")}),
                "x_vendorSyncId": pl.lit("sync-") + pl.col("sourcedId"),
            }
        # identifier is the one field a quirk sends as an explicit null.
        omitted = [name for name in record if not (name == "identifier" and self.options.null_identifiers)]
        text = pl.struct(**record).struct.json_encode()
        if omitted:
            names = "|".join(omitted)
            text = text.str.replace_all(f',"(?:{names})":null', "").str.replace_all(f'\\{{"(?:{names})":null,?', "{")
        return page.select(text.str.join(",")).item()

    # -- building blocks -------------------------------------------------------------------

    def _ref(self, column: str | pl.Expr, kind: str, path: str) -> pl.Expr:
        sourced_id = pl.col(column) if isinstance(column, str) else column
        return pl.when(sourced_id.is_not_null()).then(
            pl.struct(href=pl.lit(f"{self.api_root}/{path}/") + sourced_id, sourcedId=sourced_id, type=pl.lit(kind))
        )

    def _refs(self, column: str, kind: str, path: str) -> pl.Expr:
        return pl.col(column).list.eval(self._ref(pl.element(), kind, path))

    def _flag(self, column: str) -> pl.Expr:
        if self.options.json_booleans:
            return pl.col(column)
        return pl.when(pl.col(column)).then(pl.lit("true")).otherwise(pl.lit("false"))

    def _identifier(self) -> pl.Expr:
        return pl.lit(None, dtype=pl.String) if self.options.null_identifiers else pl.col("identifier")

    def _base(self) -> dict[str, pl.Expr]:
        return {
            "sourcedId": pl.col("sourcedId"),
            "status": pl.col("status").cast(pl.String),
            "dateLastModified": pl.col("dateLastModified").dt.strftime(self._DATE_TIME_FORMAT),
        }

    # -- the collections, fields in the order of the OpenAPI schemas -------------------------

    def _fields(self, frame: str) -> dict[str, pl.Expr]:
        ext = self.options.ext_values
        base = self._base()
        match frame:
            case "orgs":
                return base | {
                    "name": pl.col("name"),
                    "type": pl.col("type"),
                    "identifier": self._identifier(),
                    "parent": self._ref("parent.sourcedId", "org", "orgs"),
                    "children": self._refs("children.sourcedId", "org", "orgs"),
                }
            case "academicSessions":
                kind = pl.col("type")
                if ext:
                    kind = pl.when(kind == "term").then(pl.lit("ext:trimester")).otherwise(kind)
                return base | {
                    "title": pl.col("title"),
                    "startDate": pl.col("startDate").cast(pl.String),
                    "endDate": pl.col("endDate").cast(pl.String),
                    "type": kind,
                    "parent": self._ref("parent.sourcedId", "academicSession", "academicSessions"),
                    "children": self._refs("children.sourcedId", "academicSession", "academicSessions"),
                    "schoolYear": pl.col("schoolYear"),
                }
            case "courses":
                return base | {
                    "title": pl.col("title"),
                    "schoolYear": self._ref("schoolYear.sourcedId", "academicSession", "academicSessions"),
                    "courseCode": pl.col("courseCode"),
                    "grades": pl.col("grades"),
                    "subjects": pl.col("subjects"),
                    "org": self._ref("org.sourcedId", "org", "orgs"),
                    "subjectCodes": pl.col("subjectCodes"),
                }
            case "classes":
                return base | {
                    "title": pl.col("title"),
                    "classCode": pl.col("classCode"),
                    "classType": pl.col("classType"),
                    "location": pl.col("location"),
                    "grades": pl.col("grades"),
                    "subjects": pl.col("subjects"),
                    "course": self._ref("course.sourcedId", "course", "courses"),
                    "school": self._ref("school.sourcedId", "org", "orgs"),
                    "terms": self._refs("terms.sourcedId", "academicSession", "academicSessions"),
                    "subjectCodes": pl.col("subjectCodes"),
                    "periods": pl.col("periods"),
                }
            case "enrollments":
                role = pl.col("role")
                if ext:
                    role = (
                        pl.when((role == "teacher") & pl.col("primary").not_())
                        .then(pl.lit("ext:coteacher"))
                        .otherwise(role)
                    )
                return base | {
                    "user": self._ref("user.sourcedId", "user", "users"),
                    "class": self._ref("class.sourcedId", "class", "classes"),
                    "school": self._ref("school.sourcedId", "org", "orgs"),
                    "role": role,
                    "primary": self._flag("primary"),
                    "beginDate": pl.col("beginDate").cast(pl.String),
                    "endDate": pl.col("endDate").cast(pl.String),
                }
            case "users":
                if self.options.legacy_user_role:
                    roles = {
                        "role": pl.col("roles.role").list.first(),
                        "orgs": self._refs("roles.org.sourcedId", "org", "orgs"),
                    }
                else:
                    roles = {
                        "roles": pl.col("_roles").list.eval(
                            pl.struct(
                                roleType=pl.element().struct.field("roleType"),
                                role=pl.element().struct.field("role"),
                                org=self._ref(pl.element().struct.field("org"), "org", "orgs"),
                            )
                        )
                    }
                return (
                    base
                    | {
                        "enabledUser": self._flag("enabledUser"),
                        "username": pl.col("username"),
                        "userIds": pl.col("_userIds"),
                        "givenName": pl.col("givenName"),
                        "familyName": pl.col("familyName"),
                        "middleName": pl.col("middleName"),
                    }
                    | roles
                    | {
                        "primaryOrg": self._ref("primaryOrg.sourcedId", "org", "orgs"),
                        "identifier": self._identifier(),
                        "email": pl.col("email"),
                        "grades": pl.col("grades"),
                    }
                )
            case "demographics":
                return base
        raise AssertionError(frame)


def _zip_user_lists(page: pl.DataFrame) -> pl.DataFrame:
    """Turn the parallel list columns of roles and userIds into lists of structs."""
    rows = page.with_row_index("_row")
    roles = (
        rows.select("_row", "roles.roleType", "roles.role", "roles.org.sourcedId")
        .explode("roles.roleType", "roles.role", "roles.org.sourcedId")
        .filter(pl.col("roles.role").is_not_null())
        .group_by("_row")
        .agg(pl.struct(roleType="roles.roleType", role="roles.role", org="roles.org.sourcedId").alias("_roles"))
    )
    ids = (
        rows.select("_row", "userIds.type", "userIds.identifier")
        .explode("userIds.type", "userIds.identifier")
        .filter(pl.col("userIds.type").is_not_null())
        .group_by("_row")
        .agg(pl.struct(type="userIds.type", identifier="userIds.identifier").alias("_userIds"))
    )
    return rows.join(roles, on="_row", how="left", maintain_order="left").join(
        ids, on="_row", how="left", maintain_order="left"
    )
