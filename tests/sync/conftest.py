"""A store with a OneRoster connection to the demo district and an upload target: the fake CERS import service."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import polars as pl
import pytest

from cers_core.brake import BrakeSettings
from cers_core.cers_import import UploadContext
from cers_core.settings import GroupOptions
from cers_core.store import SavedConnection, Store
from cers_core.sync import SyncContext, SyncReport, sync
from cers_demo import DemoDistrict, DemoProvider
from cers_demo.fake_cers_import import FakeImportOptions, FakeImportServer
from tests.support import DEMO_REFERENCE_DATE, QUICK_RETRIES

# CERS's verdict read every twentieth of a second (the fake service takes that long), not every second.
QUICK_UPLOAD = UploadContext(poll_interval=0.05, retry=QUICK_RETRIES)


@pytest.fixture
def fake_import() -> Iterator[FakeImportServer]:
    with FakeImportServer(FakeImportOptions(processing_seconds=0.05)) as server:
        yield server


@pytest.fixture
def connection(store: Store, demo_provider: DemoProvider, fake_import: FakeImportServer) -> SavedConnection:
    """ "District SIS" (the demo district, groups of at most 200 students) linked to the fake CERS."""
    return link(store, demo_provider, fake_import)


def link(store: Store, provider: DemoProvider, fake: FakeImportServer, *, name: str = "District SIS",
         brake: BrakeSettings | None = None) -> SavedConnection:  # fmt: skip
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


@pytest.fixture
def run_sync(store: Store) -> Callable[..., SyncReport]:
    """``run_sync(provider, **sync_options)``: a sync of the store whose roster reads reach ``provider``."""

    def run(provider: DemoProvider, **options: Any) -> SyncReport:
        context = SyncContext(as_of=DEMO_REFERENCE_DATE, upload_wait=10.0, transport=provider.transport(),
                              retry=QUICK_RETRIES, upload=QUICK_UPLOAD)  # fmt: skip
        return sync(store, who="test run", context=context, **options)

    return run


def without_students(district: DemoDistrict, school: str, *, share: float) -> DemoDistrict:
    """The district with ``share`` of one school's student enrollments gone (every n-th, by id)."""
    students = pl.col("role") == "student"
    at_school = pl.col("school.sourcedId") == school
    every = round(1 / share)
    numbered = district.enrollments.with_columns(n=pl.int_range(pl.len()).over(students & at_school))
    kept = numbered.filter(~(students & at_school & (pl.col("n") % every == 0))).drop("n")
    return dataclasses.replace(district, enrollments=kept)


def provider_of(district: DemoDistrict) -> DemoProvider:
    """Another night's SIS: the same addresses and credentials, these rosters."""
    return DemoProvider(district)
