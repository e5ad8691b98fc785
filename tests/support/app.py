"""The app as a test opens it: its store, a saved connection, and the Section Groups page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

from streamlit.testing.v1 import AppTest

from cers_app.markup import JOINER
from cers_app.school_choice import TABLE_KEY
from cers_core.settings import GroupOptions
from cers_core.store import Store, resolve_secret_keys
from cers_demo import DemoServer
from tests.support import ROOT

__all__ = [
    "choose_school",
    "open_section_groups",
    "open_store",
    "save_connection",
    "school_table",
    "shown",
    "tick_school",
]


def shown(markdown: str) -> str:
    """The text a Markdown source escaped by ``cers_app.markup.escape_markdown`` shows on the page."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(JOINER, "")


def open_store(data_dir: Path) -> Store:
    """The app's store in ``data_dir``, opened with the key the app made there."""
    return Store.open(data_dir, keys=resolve_secret_keys(data_dir, environment=None, secrets=None).keys)


def save_connection(data_dir: Path, server: DemoServer, options: GroupOptions | None = None) -> None:
    """A OneRoster connection named "District SIS" to ``server``, saved as the app would."""
    open_store(data_dir).save_connection(
        name="District SIS",
        settings={"base_url": server.base_url, "token_url": server.token_url, "client_id": server.client_id},
        client_secret=server.client_secret,
        options=options or GroupOptions(),
    )


def open_section_groups() -> AppTest:
    """The app opened on its Section Groups page, as a new browser session."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    return at.switch_page("pages/3_Section_Groups.py").run()


def choose_school(at: AppTest, name: str, day: date) -> AppTest:
    """Set the day the rosters are read for, search for the school, select its row as a click does."""
    at.date_input(key="sg_as_of").set_value(day)
    at.text_input(key="sg_search").input(name).run()
    return tick_school(at, lambda shown: shown.index(name))


def school_table(at: AppTest) -> list[str]:
    """The names in the School Selection table as drawn last."""
    return list(at.dataframe(key=at.session_state[TABLE_KEY]).value["School"])


def tick_school(at: AppTest, row_of: Callable[[list[str]], int]) -> AppTest:
    """Tick a row of the School Selection table as a click does; ``row_of`` picks it from the names shown."""
    key = at.session_state[TABLE_KEY]
    at.session_state[key] = {"selection": {"rows": [row_of(school_table(at))], "columns": [], "cells": []}}
    return at.run()
