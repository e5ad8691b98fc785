"""Scheduled syncs as tests set them up: a OneRoster connection to a demo provider, linked to the fake CERS
import service, and demo districts changed the way a night's roster can change."""

from __future__ import annotations

import dataclasses

import polars as pl

from cers_core.brake import BrakeSettings
from cers_core.cers_import import UploadContext
from cers_core.settings import GroupOptions
from cers_core.store import SavedConnection, Store
from cers_demo import DemoDistrict, DemoProvider
from cers_demo.fake_cers_import import FakeImportServer
from tests.support import QUICK_RETRIES

__all__ = ["QUICK_UPLOAD", "link_to_cers", "without_one_enrollment", "without_students"]

# CERS's verdict read every twentieth of a second (the fake service takes that long), not every second.
QUICK_UPLOAD = UploadContext(poll_interval=0.05, retry=QUICK_RETRIES)


def link_to_cers(
    store: Store,
    provider: DemoProvider,
    fake: FakeImportServer,
    *,
    name: str = "District SIS",
    brake: BrakeSettings | None = None,
) -> SavedConnection:
    """A connection ``name`` to ``provider`` (groups of at most 200 students) whose scheduled sync sends
    to "CERS", the fake import service (made once per store)."""
    saved = store.save_connection(
        name=name,
        settings={"base_url": provider.base_url, "token_url": provider.token_url, "client_id": provider.client_id},
        client_secret=provider.client_secret,
        options=GroupOptions(split_large=True),
    )
    target = next((t for t in store.import_connections() if t.name == "CERS"), None) or store.save_import_connection(
        name="CERS",
        settings={"import_url": fake.import_url, "token_url": fake.token_url, "client_id": fake.options.client_id},
        client_secret=fake.options.client_secret,
        password=None,
    )
    store.save_sync_target(saved.id, import_connection_id=target.id, brake=brake or BrakeSettings())
    return saved


def without_students(district: DemoDistrict, school: str, *, share: float) -> DemoDistrict:
    """The district with ``share`` of one school's student enrollments gone (every n-th, by id)."""
    students = pl.col("role") == "student"
    at_school = pl.col("school.sourcedId") == school
    every = round(1 / share)
    numbered = district.enrollments.with_columns(n=pl.int_range(pl.len()).over(students & at_school))
    kept = numbered.filter(~(students & at_school & (pl.col("n") % every == 0))).drop("n")
    return dataclasses.replace(district, enrollments=kept)


def without_one_enrollment(district: DemoDistrict, school: str) -> DemoDistrict:
    """The district the next night: one student of the school dropped one section (the enrollment is gone)."""
    enrollments = district.enrollments
    first = enrollments.filter((pl.col("school.sourcedId") == school) & (pl.col("role") == "student"))["sourcedId"][0]
    return dataclasses.replace(district, enrollments=enrollments.filter(pl.col("sourcedId") != first))
