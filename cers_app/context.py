"""The set-up every page runs first, and what a page works with afterwards.

``setup()`` is idempotent and runs on every run of every page, so a page works when opened
directly by its URL: it lets in only who may open the page (``cers_app.sign_in``), opens the
store, starts the embedded demo district once per process (when the deployment has it), shows a
problem a widget callback left, and draws the sidebar with the pages the visitor may open.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from cers_app import demo as app_demo
from cers_app import sign_in
from cers_app.access import Role, Visitor
from cers_core.config import load_config
from cers_core.errors import CersError
from cers_core.http.egress import Egress, egress_from_config, use_egress
from cers_core.store import KeySource, Store, resolve_secret_keys

if TYPE_CHECKING:
    from cers_demo import DemoServer

__all__ = ["AppContext", "data_folder", "guarded", "setup"]

APP_DIR = Path(__file__).resolve().parent.parent
_PROBLEM_KEY = "cers_problem"
# The pages, and who may open each (an administrator opens them all).
_PAGES = (
    ("app.py", "Home", ":material/home:", Role.analyst),
    ("pages/1_Applications.py", "Applications", ":material/apps:", Role.administrator),
    ("pages/2_CERS_Connections.py", "CERS Connections", ":material/link:", Role.administrator),
    ("pages/3_Section_Groups.py", "Section Groups", ":material/download:", Role.analyst),
    ("pages/4_Check_a_CSV_file.py", "Check a CSV file", ":material/fact_check:", Role.analyst),
    ("pages/5_History.py", "History", ":material/history:", Role.analyst),
)


@dataclass(frozen=True, slots=True)
class AppContext:
    """What a page works with after ``setup()``."""

    store: Store
    key_source: KeySource
    demo: DemoServer | None
    visitor: Visitor
    """Who uses this session, and their role (see ``cers_app.access``)."""
    bundle_folders: tuple[Path, ...] = ()
    """Where a CSV bundle connection may read a bundle on the server: ``CERS_BUNDLE_FOLDERS``, and
    the folder the demo writes its bundle to when the demo district is on."""


def data_folder() -> Path:
    """``CERS_DATA_DIR``, else ``.cers/`` beside ``app.py``."""
    return load_config().data_dir or APP_DIR / ".cers"


def setup(page_title: str, *, role: Role = Role.analyst) -> AppContext:
    """The set-up every page calls first; safe to call on every run of every page.

    Only a visitor whose role allows ``role`` gets past it: anyone else sees the sign-in page, a
    refusal, or that the page is for administrators. On a store that cannot be opened (wrong key,
    damaged file) or a deployment setting that cannot be used, it shows what to do and stops the
    page, so no page ever runs half set up.
    """
    st.set_page_config(page_title=f"{page_title} · CERS Section Groups", page_icon=":material/groups:", layout="wide")
    visitor = sign_in.door()
    try:
        config = load_config()
        folder = data_folder()
        environment_key = config.secret_key.get_secret_value() if config.secret_key else None
        keys = resolve_secret_keys(folder, environment=environment_key, secrets=_secret_from_streamlit())
        store = Store.open(folder, keys=keys.keys)
        if len(keys.keys) > 1:
            _rotate_once(str(folder), store)
    except CersError as error:
        st.error(f"**The app's saved settings cannot be opened.** {error}", icon=":material/lock:")
        st.stop()
    demo = app_demo.demo_provider() if config.demo else None
    if demo is not None:
        app_demo.follow_demo_port(store, demo)
    # Each run: the policy is made once per listen address, but tests (and a reconfigured server) switch.
    use_egress(_egress(st.get_option("server.address") or None, app_demo.demo_origins() if demo is not None else ()))
    problem = st.session_state.pop(_PROBLEM_KEY, None)
    if problem:
        st.error(problem, icon=":material/error:")
    with st.sidebar:
        # Our own links: file-based pages would otherwise list the home page as "app".
        for page, label, icon, needed in _PAGES:
            if visitor.may(needed):
                st.page_link(page, label=label, icon=icon)
        sign_in.show_visitor(visitor)
    if not visitor.may(role):
        st.warning(
            f"**{page_title}** is for administrators. Ask your district's IT staff if something there needs changing.",
            icon=":material/admin_panel_settings:",
        )
        st.stop()
    folders = config.bundle_folders + ((app_demo.demo_bundle_folder(folder),) if demo is not None else ())
    return AppContext(store=store, key_source=keys.source, demo=demo, visitor=visitor, bundle_folders=folders)


def guarded(callback: Callable[..., None]) -> Callable[..., None]:
    """A widget callback whose ``CersError`` becomes a message at the top of the page.

    Callbacks run before the page is drawn; an error there (a connection deleted in another
    window, a data file busy for too long) would otherwise end the run with Streamlit's
    generic error instead of saying what happened.
    """

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            callback(*args, **kwargs)
        except CersError as error:
            st.session_state[_PROBLEM_KEY] = str(error)

    return run


def _secret_from_streamlit() -> str | None:
    try:
        return str(st.secrets["cers"]["secret_key"])
    except (KeyError, FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return None


@st.cache_resource(show_spinner=False)
def _egress(listen_address: str | None, demo_origins: tuple[str, ...]) -> Egress:
    """Where this process's HTTP clients may connect (``CERS_ALLOWED_NETWORKS``, and by default
    nothing on this server's own networks when it listens beyond loopback), with the embedded
    demo's loopback services let through."""
    egress = egress_from_config(load_config(), listen_address=listen_address)
    for origin in demo_origins:
        egress = egress.allowing_service(origin)
    return egress


@st.cache_resource(show_spinner=False)
def _rotate_once(folder: str, _store: Store) -> int:
    """Re-encrypt with the first key once per process when several keys are configured."""
    return _store.rotate()
