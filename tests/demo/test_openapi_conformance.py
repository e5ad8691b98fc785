"""The demo provider against the official OneRoster 1.2 rostering OpenAPI file, validated strictly.

Every one of the file's GET paths is requested, and each 200 body is validated against the
schema the file names for that path (``additionalProperties: false`` as written, formats
checked), as are the imsx error bodies. Two changes are made to the file first: its
boolean-like enums are read by YAML as booleans and are set back to the strings "true" and
"false" (as the JSON edition has them), and its ``#/components/schemas/...`` references are
resolved through a ``referencing`` registry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from cers_demo import DemoDistrict, DemoProvider
from cers_demo.provider import ROSTER_CORE_SCOPE
from tests.support import http_client

# 1EdTech's official file, copied into the repository with its licence notice (docs/reference/README.md).
OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "reference" / "oneroster-1.2-rostering-openapi.yaml"

DOCUMENT_URI = "urn:oneroster:v1p2:rostering:openapi"
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _strings_for_booleans(node: Any) -> Any:
    """YAML reads ``enum: [true, false]`` as booleans; the schemas mean the strings."""
    if isinstance(node, dict):
        patched = {key: _strings_for_booleans(value) for key, value in node.items()}
        if isinstance(patched.get("enum"), list):
            patched["enum"] = [("true" if v else "false") if isinstance(v, bool) else v for v in patched["enum"]]
        return patched
    if isinstance(node, list):
        return [_strings_for_booleans(item) for item in node]
    return node


def _format_checker() -> jsonschema.FormatChecker:
    """Strict checks for the three formats the file uses (jsonschema skips some without extras)."""
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time")
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(DATE_TIME.match(value))

    @checker.checks("date", raises=ValueError)
    def _date(value: object) -> bool:
        if not isinstance(value, str):
            return True
        date.fromisoformat(value)  # raises on a wrong date
        return len(value) == 10

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return bool(parts.scheme and parts.netloc)

    return checker


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with OPENAPI.open(encoding="utf-8") as handle:
        document: dict[str, Any] = _strings_for_booleans(yaml.load(handle, Loader=loader))
    return document


class Conformance:
    """Validates bodies against the file's schemas, by schema name."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT4)
        self.registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
        self.format_checker = _format_checker()

    def errors(self, schema_name: str, body: Any) -> list[str]:
        schema = {"$ref": f"{DOCUMENT_URI}#/components/schemas/{schema_name}"}
        validator = jsonschema.Draft4Validator(schema, registry=self.registry, format_checker=self.format_checker)
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]

    def response_schema(self, path: str, status: str) -> str:
        response = self.document["paths"][path]["get"]["responses"][status]
        ref: str = response["content"]["application/json"]["schema"]["$ref"]
        return ref.rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def conformance(openapi: dict[str, Any]) -> Conformance:
    return Conformance(openapi)


@pytest.fixture(scope="module")
def client(demo_provider: DemoProvider) -> Iterator[httpx.Client]:
    with http_client(demo_provider, base_url=demo_provider.base_url + "/") as anonymous:
        token = anonymous.post(
            demo_provider.token_url,
            auth=(demo_provider.client_id, demo_provider.client_secret),
            data={"grant_type": "client_credentials"},  # every scope, demographics included
        ).json()["access_token"]
        anonymous.headers["Authorization"] = f"Bearer {token}"
        yield anonymous


def path_parameters(district: DemoDistrict) -> dict[str, str]:
    """A real record for every path parameter, chosen among the awkward cases."""
    cases = district.cases
    return {
        "classSourcedId": cases.large_section,
        "courseSourcedId": district.classes.filter(district.classes["sourcedId"] == cases.title_with_formula)[
            "course.sourcedId"
        ].item(),
        "schoolSourcedId": "org-0003",
        "studentSourcedId": cases.student_with_malformed_ssid,
        "teacherSourcedId": cases.teacher_with_email_username,
        "termSourcedId": "as-2027",
        "userSourcedId": cases.teacher_without_usable_login,
    }


SINGLE_RECORDS = {
    # collection -> a sourcedId whose record has the most optional parts
    "/academicSessions": "as-2027",
    "/classes": "cls-000323",  # no classType
    "/courses": "crs-000001",
    "/demographics": "stu-0000001",  # there are no demographics: a 404 imsx body
    "/enrollments": "enr-0000001",
    "/gradingPeriods": "as-2027-q2",
    "/orgs": "org-0000",  # the district, with children
    "/schools": "org-0003",
    "/students": "stu-0001282",
    "/teachers": "tch-000064",
    "/terms": "as-2027-t2",
    "/users": "tch-000069",
}


def concrete(template: str, district: DemoDistrict) -> str:
    if template.endswith("/{sourcedId}"):
        collection = template.removesuffix("/{sourcedId}")
        return f"{collection}/{SINGLE_RECORDS[collection]}"
    path = template
    for name, value in path_parameters(district).items():
        path = path.replace("{" + name + "}", value)
    return path


def test_the_file_has_the_41_paths_we_serve(openapi: dict[str, Any]) -> None:
    paths = openapi["paths"]
    assert len(paths) == 41
    assert all(set(item) == {"get"} for item in paths.values())
    assert {p.rsplit("/", 1)[0] for p in paths if p.endswith("/{sourcedId}")} == set(SINGLE_RECORDS)


def test_every_path_answers_as_the_file_says(
    openapi: dict[str, Any], conformance: Conformance, client: httpx.Client, demo_district: DemoDistrict
) -> None:
    problems: dict[str, list[str]] = {}
    validated = 0
    for template, item in openapi["paths"].items():
        path = concrete(template, demo_district)
        collection = not template.endswith("/{sourcedId}")
        # The first page (100 records) of each; whole collections are validated below.
        response = client.get(path.lstrip("/"), params={"limit": 100} if collection else None)
        expected = "404" if template == "/demographics/{sourcedId}" else "200"
        assert str(response.status_code) == expected, f"{path}: {response.status_code} {response.text[:300]}"
        assert expected in item["get"]["responses"], path
        body = response.json()
        errors = conformance.errors(conformance.response_schema(template, expected), body)
        if collection:
            assert response.headers["x-total-count"].isdigit()
            (records,) = body.values()
            validated += len(records)
            assert records or template == "/demographics", f"{path} returned no records to validate"
        if errors:
            problems[path] = errors[:5]
    assert problems == {}
    assert validated > 1_000


@pytest.mark.parametrize(
    ("collection", "filter_text"),
    [
        ("users", None),  # all 1,639: teachers without e-mail, students without SSID, accents
        ("classes", None),
        ("courses", None),
        ("enrollments", "school.sourcedId='org-0003' AND role='teacher'"),
        ("enrollments", "status='tobedeleted' OR endDate<'2026-11-28'"),
    ],
)
def test_whole_collections_validate(
    conformance: Conformance, client: httpx.Client, collection: str, filter_text: str | None
) -> None:
    envelope_schema = conformance.response_schema(f"/{collection}", "200")
    params: dict[str, Any] = {"limit": 1000, "offset": 0} | ({"filter": filter_text} if filter_text else {})
    total = None
    while total is None or params["offset"] < total:
        response = client.get(collection, params=params)
        total = int(response.headers["x-total-count"])
        assert conformance.errors(envelope_schema, response.json()) == []
        params["offset"] += 1000
    assert total and total > 10


@pytest.mark.parametrize(
    ("path", "status", "headers", "params"),
    [
        ("classes", "400", None, {"filter": "nickname='x'"}),
        ("classes", "400", None, {"fields": "nickname"}),
        ("classes", "400", None, {"limit": "0"}),
        ("classes", "401", {"Authorization": "Bearer expired"}, None),
        ("schools/org-0003/classes", "403", "core", None),
        ("classes/cls-999999", "404", None, None),
        ("no/such/path", "404", None, None),
    ],
)
def test_error_bodies_are_imsx_status_info(
    demo_provider: DemoProvider,
    conformance: Conformance,
    client: httpx.Client,
    path: str,
    status: str,
    headers: dict[str, str] | str | None,
    params: dict[str, str] | None,
) -> None:
    if headers == "core":
        token = client.post(
            demo_provider.token_url,
            auth=(demo_provider.client_id, demo_provider.client_secret),
            data={"grant_type": "client_credentials", "scope": ROSTER_CORE_SCOPE},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
    response = client.get(path, params=params, headers=headers)
    assert str(response.status_code) == status
    assert conformance.response_schema("/classes/{sourcedId}", status) == "imsx_StatusInfoDType"
    assert conformance.errors("imsx_StatusInfoDType", response.json()) == []


@pytest.mark.parametrize(
    ("quirk", "path", "schema", "complaint"),
    [
        ("json_booleans", "users/tch-000001", "SingleUserDType", "True is not of type 'string'"),
        ("legacy_user_role", "users/tch-000001", "SingleUserDType", "Additional properties are not allowed"),
        ("null_identifiers", "orgs/org-0000", "SingleOrgDType", "None is not of type 'string'"),
        ("relative_hrefs", "classes/cls-000001", "SingleClassDType", "is not a 'uri'"),
    ],
)
def test_quirks_really_break_the_schema(
    make_demo_provider: Any, conformance: Conformance, quirk: str, path: str, schema: str, complaint: str
) -> None:
    """The validator is strict enough to see each vendor quirk that the 1.2 file does not allow."""
    provider = make_demo_provider(**{quirk: True})
    with http_client(provider, base_url=provider.base_url + "/") as quirky:
        token = quirky.post(
            provider.token_url,
            auth=(provider.client_id, provider.client_secret),
            data={"grant_type": "client_credentials"},
        ).json()["access_token"]
        body = quirky.get(path, headers={"Authorization": f"Bearer {token}"}).json()
    errors = conformance.errors(schema, body)
    assert any(complaint in error for error in errors), errors


def test_ext_values_are_legal_1_2(make_demo_provider: Any, conformance: Conformance) -> None:
    provider = make_demo_provider(ext_values=True)
    with http_client(provider, base_url=provider.base_url + "/") as quirky:
        token = quirky.post(
            provider.token_url,
            auth=(provider.client_id, provider.client_secret),
            data={"grant_type": "client_credentials"},
        ).json()["access_token"]
        body = quirky.get("terms/as-2027-t1", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["academicSession"]["type"] == "ext:trimester"
    assert conformance.errors("SingleAcademicSessionDType", body) == []
