"""A store with "District SIS" (the demo district) sending to the fake CERS import service, and syncs of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cers_core.store import SavedConnection, Store
from cers_core.sync import SyncContext, SyncReport, sync
from cers_demo import DemoProvider
from cers_demo.fake_cers_import import FakeImportServer
from tests.support import DEMO_REFERENCE_DATE, QUICK_RETRIES
from tests.support.sync import QUICK_UPLOAD, link_to_cers


@pytest.fixture
def connection(store: Store, demo_provider: DemoProvider, fake_import: FakeImportServer) -> SavedConnection:
    return link_to_cers(store, demo_provider, fake_import)


@pytest.fixture
def run_sync(store: Store) -> Callable[..., SyncReport]:
    """``run_sync(provider, **sync_options)``: a sync of the store whose roster reads reach ``provider``."""

    def run(provider: DemoProvider, **options: Any) -> SyncReport:
        context = SyncContext(as_of=DEMO_REFERENCE_DATE, upload_wait=10.0, transport=provider.transport(),
                              retry=QUICK_RETRIES, upload=QUICK_UPLOAD)  # fmt: skip
        return sync(store, who="test run", context=context, **options)

    return run
