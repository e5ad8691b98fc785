"""The Section Groups page's two CERS panels, "What changes in CERS" and "Send to CERS", and the
download that keeps the file for the next comparison.

Results of sends and comparisons are kept in this browser session only (``st.session_state``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import streamlit as st

from cers_app.access import Role
from cers_app.context import AppContext
from cers_app.demo import import_connections
from cers_app.frames import changes_groups_frame, changes_people_frame, failures_frame
from cers_app.markup import escape_markdown
from cers_app.widgets import paged_grid
from cers_core import GroupDiff, GroupExport
from cers_core.cers_import import ImportResult, UploadContext, upload_group_file
from cers_core.errors import CersError, UploadError
from cers_core.history import Comparison, changes_since, kept_files_for, record_file_left, record_upload
from cers_core.store import RosterConnection, SavedImportConnection

__all__ = ["download_and_keep", "send_to_cers", "show_changes", "show_diff", "show_send"]

_SENT_KEY = "cers_sent"
_CHANGES_KEY = "cers_changes"
# A person watches the page while CERS processes: two minutes, then "check later" (the batch is shown).
_APP_WAIT_SECONDS = 120.0


def download_and_keep(ctx: AppContext, saved: RosterConnection, label: str, export: GroupExport) -> None:
    """The download button's callback: the download log, and the file kept for the next comparison."""
    record_file_left(ctx.store, saved, export, label=label, how="download", who=ctx.visitor.who)
    st.session_state.pop(_CHANGES_KEY, None)  # the next comparison is with this file


def _changes(ctx: AppContext, saved: RosterConnection, export: GroupExport) -> Comparison | None:
    """``changes_since`` the kept files, compared once per file and kept files in this session."""
    kept = kept_files_for(ctx.store, saved.id, export)
    key = (saved.id, hashlib.sha256(export.csv_bytes).hexdigest(), tuple(k.sha256 for k in kept))
    cache = st.session_state.setdefault(_CHANGES_KEY, {})
    if key not in cache:
        cache.clear()  # one comparison per session is enough to keep
        cache[key] = changes_since(kept, export)
    return cache[key]


def send_to_cers(
    ctx: AppContext,
    saved: RosterConnection,
    target: SavedImportConnection,
    export: GroupExport,
    *,
    label: str,
    on_progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Send an export's file to CERS (see ``cers_core.cers_import``); the file is kept and logged
    unless CERS rejected it, and the upload is in the history either way. Raises the ``UploadError`` s
    of ``upload_group_file``."""
    settings = ctx.store.import_settings(target)
    result = upload_group_file(
        settings,
        export.csv_bytes,
        file_name=export.file_name(),
        context=UploadContext(max_wait=_APP_WAIT_SECONDS, on_progress=on_progress),
    )
    record_upload(ctx.store, saved, export, result, label=f"{label} → CERS ({target.name})", who=ctx.visitor.who)
    if not result.rejected:
        st.session_state.pop(_CHANGES_KEY, None)
    return result


def show_diff(diff: GroupDiff, key: str, *, sent: bool = True) -> None:
    """A difference: the summary in sentences, then the groups and the people in grids; ``sent``
    says the earlier file was sent to CERS (see ``GroupDiff.summary``)."""
    summary = diff.summary(sent=sent)
    st.markdown(summary[0])
    for line in summary[1:]:
        if "CERS keeps such groups" in line or "renamed" in line:
            st.warning(line, icon=":material/warning:")
        elif "in no group of their school" in line:
            st.info(line, icon=":material/person_off:")
        else:
            st.markdown(line)
    if diff.has_changes:
        groups, people = st.tabs([f"Groups ({diff.groups.height:,})", f"People ({diff.members.height:,})"])
        with groups:
            paged_grid(changes_groups_frame(diff), f"{key}_diff_groups_page", "Changes")
        with people:
            paged_grid(changes_people_frame(diff), f"{key}_diff_people_page", "Changes")


def show_changes(ctx: AppContext, saved: RosterConnection, export: GroupExport, key: str) -> None:
    """ "What changes in CERS": the difference with the file kept for these schools, if any."""
    st.subheader("What changes in CERS")
    try:
        found = _changes(ctx, saved, export)
    except CersError as error:
        st.warning(f"The earlier file could not be compared: {escape_markdown(error)}")
        return
    if found is None:
        st.caption(
            "No earlier file of these schools was sent or downloaded from this connection, so this one cannot be "
            "compared: CERS may hold groups of these schools that this page does not know about. Once a file is "
            "sent (or downloaded), the next one is compared with it."
        )
        return
    if found.sent:
        st.caption(found.note)
    else:
        st.info(found.note, icon=":material/help:")
    show_diff(found.diff, key, sent=found.sent)


def show_send(ctx: AppContext, saved: RosterConnection, export: GroupExport, label: str, key: str) -> None:
    """ "Send to CERS": the button (enabled only for a file CERS would accept and with an import connection)
    and the result of the last send of this file."""
    st.subheader("Send to CERS")
    targets = {target.id: target for target in import_connections(ctx.store, ctx.demo)}
    if not targets:
        st.info(
            "To send files from here, add a CERS import (RDW API) connection on the CERS Connections page.",
            icon=":material/cloud_upload:",
        )
        st.page_link("pages/2_CERS_Connections.py", label="CERS Connections", icon=":material/link:")
        return
    choice_key = f"{key}_import_connection"
    if st.session_state.get(choice_key) not in targets:
        st.session_state[choice_key] = next(iter(targets))
    target_id = st.selectbox(
        "CERS import connection", list(targets), key=choice_key, format_func=lambda tid: targets[tid].name
    )
    target = targets[target_id]
    sent: dict[tuple[Any, ...], Any] = st.session_state.setdefault(_SENT_KEY, {})
    # By both connections' versions too: an edit (a corrected secret) clears an answer it made stale.
    result_key = (saved.id, saved.version, target.id, target.version, hashlib.sha256(export.csv_bytes).hexdigest())
    may_send = ctx.visitor.may(Role.administrator)
    if not may_send:
        st.caption("Only administrators send files to CERS; download the file, or ask one of them.")
    elif export.file_accepted and not export.accepted:
        st.caption(
            "Sending is off while a school is left out of the file (see above): add its CDS code first, as the "
            "command line's export --upload does. The file can be downloaded meanwhile."
        )
    elif not export.accepted:
        st.caption("Sending is off: CERS would not take this file as it is (see above).")
    st.caption(
        "CERS replaces the members of every group in the file with exactly these teachers and students; "
        "groups not in the file stay as they are."
    )
    if st.button(
        "Send to CERS",
        key=f"{key}_send",
        type="primary",
        icon=":material/cloud_upload:",
        disabled=not (export.accepted and may_send),  # Streamlit discards a forged click on a disabled button
    ):
        status = st.status(f"Sending the file to CERS ({escape_markdown(target.name)})…", expanded=True)
        try:
            result: ImportResult | str = send_to_cers(
                ctx, saved, target, export, label=label, on_progress=lambda text: status.text(text)
            )
            status.update(label="CERS answered.", state="complete", expanded=False)
        except UploadError as error:
            result = str(error)
            status.update(label="The file could not be sent.", state="error", expanded=False)
        sent[result_key] = result
    outcome = sent.get(result_key)
    if isinstance(outcome, str):
        st.error(escape_markdown(outcome), icon=":material/cloud_off:")
    elif outcome is not None:
        _show_result(outcome, key)


def _show_result(result: ImportResult, key: str) -> None:
    headline = f"**{escape_markdown(result.status)}** · {escape_markdown(result.headline())}"
    if result.succeeded and result.already_processed:
        st.info(headline, icon=":material/content_copy:")
    elif result.succeeded:
        st.success(headline, icon=":material/check_circle:")
    elif not result.finished:
        st.warning(headline, icon=":material/hourglass:")
    else:
        st.error(headline, icon=":material/block:")
    for note in result.notes:
        st.caption(escape_markdown(note))
    if result.rejected and result.failures.height:
        st.markdown("What CERS reported, and where it is in the file:")
        paged_grid(failures_frame(result), f"{key}_failures_page", "Failures")
    if result.message:
        with st.expander("CERS's own message"):
            st.code(result.message, language=None)
    st.caption(f"Import {escape_markdown(result.import_id)} · batch {escape_markdown(result.batch)}")
