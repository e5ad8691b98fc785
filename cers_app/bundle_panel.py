"""The Section Groups page's part for a OneRoster CSV bundle connection: which bundle it reads, what
is wrong with one that cannot be used, and what its checks warned of.

The bundle is the one on the server that the connection points at (a nightly job refreshes it; the
app only reads it), else a zip uploaded here, which stays in this browser session and is never
written anywhere. Only an administrator may point a connection at a path on the server: whoever
sets it chooses what the app reads, so the path must also lie inside the folders the deployment
allows (``CERS_BUNDLE_FOLDERS``; see ``cers_core.oneroster_csv.server_bundle``).
"""

from __future__ import annotations

import streamlit as st

from cers_app.access import Role
from cers_app.context import AppContext, guarded
from cers_app.frames import bundle_problem_frame
from cers_app.loading import BundleInput
from cers_app.markup import escape_markdown, inline_code
from cers_app.widgets import paged_grid
from cers_core.errors import CersError, InvalidBundle, SettingsError
from cers_core.oneroster_csv import BundleReport
from cers_core.oneroster_csv.server_bundle import bundle_stamp, refreshed_at, server_bundle_path
from cers_core.store import SavedBundleConnection
from cers_core.wording import count

__all__ = [
    "UPLOAD_KEY",
    "allowed_folders_text",
    "choose_bundle",
    "save_server_path",
    "show_bundle_problems",
    "show_bundle_warnings",
]

UPLOAD_KEY = "sg_bundle_upload"
_UPLOADED = "sg_bundle_uploaded"  # (the upload's id, its BundleInput): its bytes copied once per upload
_PATH_ERROR = "sg_bundle_path_error"


def choose_bundle(ctx: AppContext, saved: SavedBundleConnection) -> BundleInput | None:
    """Draw which bundle the connection reads, and return it (None: none yet, or it cannot be read
    where it should be, which the page then says)."""
    path = saved.settings.path
    bundle: BundleInput | None = None
    if path:
        try:
            found = server_bundle_path(path, allowed=ctx.bundle_folders)
        except SettingsError as error:
            st.error(f"The bundle on the server cannot be read. {escape_markdown(error)}", icon=":material/folder_off:")
        else:
            bundle = BundleInput(label=path, stamp=bundle_stamp(found), path=found)
            st.caption(
                f"Reads the OneRoster CSV bundle at {inline_code(path)} on the server, last changed "
                f"{refreshed_at(found):%Y-%m-%d %H:%M} UTC; a newer one is read as soon as it is there."
            )
    else:
        bundle = _uploaded_bundle()
    if ctx.visitor.may(Role.administrator):
        _server_path_setting(ctx, saved)
    return bundle


def _uploaded_bundle() -> BundleInput | None:
    uploaded = st.file_uploader(
        "OneRoster CSV bundle: the zip your SIS exports (OneRoster 1.1 or 1.2)",
        type=["zip"],
        key=UPLOAD_KEY,
        help="It is read in this browser session only: the app keeps nothing of it.",
    )
    if uploaded is None:
        st.info("Upload the bundle to see its schools and section groups.", icon=":material/upload_file:")
        return None
    kept = st.session_state.get(_UPLOADED)
    if kept is None or kept[0] != uploaded.file_id:
        bundle = BundleInput(label=uploaded.name, stamp=(uploaded.file_id, uploaded.size), data=uploaded.getvalue())
        kept = st.session_state[_UPLOADED] = (uploaded.file_id, bundle)
    return kept[1]


def _server_path_setting(ctx: AppContext, saved: SavedBundleConnection) -> None:
    """For an administrator: point the connection at a bundle on the server, or back to uploads."""
    key = f"sg_bundle_path_{saved.id}_{saved.version}"  # a new version (saved elsewhere too) shows its own path
    with st.expander("Bundle on the server (administrators)", icon=":material/folder_open:"):
        st.caption(
            "A folder or .zip file that a nightly job refreshes: everyone using this connection then sees that "
            f"bundle. The app only reads it, and only in: {allowed_folders_text(ctx)}."
        )
        st.text_input(
            "Path on the server", value=saved.settings.path or "", key=key, placeholder="/srv/sis-exports/oneroster.zip"
        )
        row = st.container(horizontal=True)
        row.button(
            "Read from this path",
            key="sg_bundle_path_save",
            icon=":material/save:",
            on_click=guarded(_save_path),
            args=(ctx, saved, key),
        )
        if saved.settings.path:
            row.button(
                "Upload the zip instead",
                key="sg_bundle_path_clear",
                on_click=guarded(_save_path),
                args=(ctx, saved, None),
            )
        problem = st.session_state.pop(_PATH_ERROR, None)
        if problem:
            st.error(escape_markdown(problem), icon=":material/error:")


def allowed_folders_text(ctx: AppContext) -> str:
    """The folders the app may read bundles in, as Markdown (or that there are none, and what sets them)."""
    listed = ", ".join(inline_code(str(folder)) for folder in ctx.bundle_folders)
    return listed or "no folder yet (the deployment's CERS_BUNDLE_FOLDERS lists them)"


def _save_path(ctx: AppContext, saved: SavedBundleConnection, key: str | None) -> None:
    try:
        save_server_path(ctx, saved, str(st.session_state.get(key) or "") if key else "")
    except SettingsError as error:
        st.session_state[_PATH_ERROR] = str(error)


def save_server_path(ctx: AppContext, saved: SavedBundleConnection, path: str) -> SavedBundleConnection:
    """Point the connection at the bundle at ``path`` on the server (blank: uploads instead), once the
    app may read it there; an administrator's to do. Raises ``SettingsError`` saying why not."""
    if not ctx.visitor.may(Role.administrator):
        raise CersError("Only an administrator may choose where on the server the app reads a bundle.")
    path = path.strip()
    if path:
        server_bundle_path(path, allowed=ctx.bundle_folders)
    current = ctx.store.bundle_connection(saved.id)  # another window may have saved it meanwhile: keep its options
    return ctx.store.save_bundle_connection(
        connection_id=saved.id, name=current.name, settings={"path": path or None}, options=current.options
    )


def show_bundle_problems(error: InvalidBundle, key: str) -> None:
    """Why a bundle cannot be used: every problem its checks found, where it is, in plain words."""
    st.error(f"**{escape_markdown(error.headline)}** {escape_markdown(error.hint)}", icon=":material/folder_off:")
    paged_grid(bundle_problem_frame(error.report), key, "Problems")


def show_bundle_warnings(report: BundleReport, key: str) -> None:
    """What the checks of a bundle that could be used warned of (folded away: the file was made)."""
    if not report.warnings:
        return
    with st.expander(f"The bundle: {count(report.warning_count, 'warning')} (the file was made all the same)"):
        paged_grid(bundle_problem_frame(report), key, "Warnings")
