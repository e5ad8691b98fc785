"""The naive client most scripts are: one page after another, one pydantic model per record.

It is the baseline the export must beat by 5 times; it only reads and parses (it builds no
groups), so the comparison flatters it.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")
    sourcedId: str
    status: str | None = None


class Ref(BaseModel):
    sourcedId: str


class Org(_Record):
    name: str | None = None
    identifier: str | None = None


class Session(_Record):
    title: str | None = None
    startDate: str | None = None
    endDate: str | None = None


class Course(_Record):
    title: str | None = None
    courseCode: str | None = None


class Class(_Record):
    title: str | None = None
    course: Ref | None = None
    school: Ref | None = None
    terms: list[Ref] = []


class Enrollment(_Record):
    user: Ref
    class_: Ref | None = Field(default=None, alias="class")
    role: str | None = None
    primary: Any = None
    beginDate: str | None = None
    endDate: str | None = None


class User(_Record):
    givenName: str | None = None
    familyName: str | None = None
    email: str | None = None
    userIds: list[dict[str, Any]] = []


COLLECTIONS = [
    ("/schools", "orgs", Org),
    ("/academicSessions", "academicSessions", Session),
    ("/courses", "courses", Course),
    ("/classes", "classes", Class),
    ("/enrollments", "enrollments", Enrollment),
    ("/users", "users", User),
]


def naive_fetch(base_url: str, token_url: str, client_id: str, client_secret: str, *, page_size: int) -> int:
    """Read every flat collection page by page into pydantic models; returns the record count."""
    count = 0
    with httpx.Client(timeout=60) as client:
        token = client.post(token_url, data={"grant_type": "client_credentials"}, auth=(client_id, client_secret))
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for path, envelope, model in COLLECTIONS:
            offset = 0
            while True:
                response = client.get(base_url + path, params={"limit": page_size, "offset": offset}, headers=headers)
                records = response.json()[envelope]
                if not records:
                    break
                count += len([model.model_validate(record) for record in records])
                offset += len(records)
    return count
