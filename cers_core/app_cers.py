"""What the app needs to send files to CERS, to show what they change, and to check any file.

Beside ``app_support`` (set-up, the OneRoster form, roster loading), this module holds:

- the CERS import (RDW API) connection form: its widgets' values to and from the store, and
  "Test connection" (a token and a batch listing; nothing is sent);
- the demo district's fake CERS import service (a process resource, like the demo provider)
  and the ready connection to it;
- sending an export to CERS, keeping the file that left the app (per school, encrypted), and
  the difference with the one kept before;
- reading an uploaded file for the Check a CSV file page, straight from its stream;
- :func:`show_changes` and :func:`show_send`: the Section Groups page's two CERS panels, drawn
  here so that the page stays a short list of what it shows.

Results of sends and differences are kept in this browser session only (``st.session_state``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

import polars as pl
import streamlit as st
from pydantic import ValidationError

from cers_core.app_support import AppContext, log_download, paged_grid
from cers_core.cers_csv import ValidationReport, validate_cers_csv
from cers_core.cers_csv.rows import read_group_rows
from cers_core.cers_csv.writer import write_ordered_rows
from cers_core.errors import CersError, UploadError
from cers_core.export import GroupExport
from cers_core.group_diff import GroupDiff, diff_group_files, group_file
from cers_core.rdw import FakeImportOptions, FakeImportServer, ImportResult, UploadContext, check_import_connection
from cers_core.rdw import upload_group_file as _upload
from cers_core.settings import CersImportSettings
from cers_core.store import ConnectionInvalid, SavedConnection, SavedImportConnection, field_messages

__all__ = [
    "DEMO_IMPORT_NAME",
    "IMPORT_FORM_KEYS",
    "changes",
    "check_uploaded_file",
    "create_demo_import_connection",
    "findings_frame",
    "import_connections",
    "import_form_errors",
    "keep_export_file",
    "load_import_form",
    "parse_schools",
    "parse_years",
    "save_import_form",
    "send_to_cers",
    "show_changes",
    "show_diff",
    "show_send",
    "test_import_form",
]

DEMO_IMPORT_NAME = "Demo CERS import"
IMPORT_FORM_KEYS: dict[str, str] = {
    name: f"imp_{name}"
    for name in ("name", "import_url", "token_url", "client_id", "client_secret", "username", "password", "scope")
}
_PUBLIC_FIELDS = ("import_url", "token_url", "client_id", "username", "scope")
_ERRORS_KEY = "imp_errors"
_SENT_KEY = "cers_sent"
_CHANGES_KEY = "cers_changes"
# A person watches the page while CERS processes: two minutes, then "check later" (the batch is shown).
_APP_WAIT_SECONDS = 120.0


# -- the demo's fake import service -----------------------------------------------------------


@st.cache_resource(show_spinner="Starting the demo CERS import service…")
def _fake_import_service() -> FakeImportServer:
    """One fake CERS import service per process, on a loopback port; it accepts any school and year."""
    return FakeImportServer(FakeImportOptions(processing_seconds=1.0)).start()


def _is_demo_import(saved: SavedImportConnection, fake: FakeImportServer) -> bool:
    return saved.name == DEMO_IMPORT_NAME and saved.public.get("client_id") == fake.options.client_id


def create_demo_import_connection(ctx: AppContext) -> SavedImportConnection | None:
    """A ready connection to the demo's fake CERS import service (or the one there); None without the demo."""
    if ctx.demo is None:
        return None
    fake = _fake_import_service()
    for saved in ctx.store.import_connections():
        if _is_demo_import(saved, fake):
            return saved
    return ctx.store.save_import_connection(
        name=DEMO_IMPORT_NAME,
        settings={"import_url": fake.import_url, "token_url": fake.token_url, "client_id": fake.options.client_id},
        client_secret=fake.options.client_secret,
        password=None,
    )


def import_connections(ctx: AppContext) -> list[SavedImportConnection]:
    """The CERS import connections; the demo's is pointed at this process's fake service first
    (its port changes with each start), as the demo OneRoster connection is."""
    saved_all = ctx.store.import_connections()
    if ctx.demo is None:
        return saved_all
    fake = _fake_import_service()
    for saved in saved_all:
        moved = (saved.public.get("import_url"), saved.public.get("token_url")) != (fake.import_url, fake.token_url)
        if moved and _is_demo_import(saved, fake):
            ctx.store.save_import_connection(
                connection_id=saved.id,
                name=saved.name,
                settings={**saved.public, "import_url": fake.import_url, "token_url": fake.token_url},
                client_secret=fake.options.client_secret,
                password=None,
            )
    return ctx.store.import_connections()


def is_demo_import(ctx: AppContext, saved: SavedImportConnection) -> bool:
    return ctx.demo is not None and _is_demo_import(saved, _fake_import_service())


def demo_import_credentials() -> Mapping[str, str]:
    fake = _fake_import_service()
    return {"Client ID": fake.options.client_id, "Client Secret": fake.options.client_secret}


# -- the CERS import connection form --------------------------------------------------------------


def load_import_form(saved: SavedImportConnection | None) -> None:
    """Fill the form's widgets from a saved connection (or blanks); secrets stay blank."""
    public: Mapping[str, Any] = saved.public if saved else {}
    st.session_state[IMPORT_FORM_KEYS["name"]] = saved.name if saved else ""
    for name in _PUBLIC_FIELDS:
        st.session_state[IMPORT_FORM_KEYS[name]] = str(public.get(name, "") or "")
    st.session_state[IMPORT_FORM_KEYS["client_secret"]] = ""
    st.session_state[IMPORT_FORM_KEYS["password"]] = ""
    st.session_state[_ERRORS_KEY] = {}


def _form(name: str) -> str:
    return str(st.session_state.get(IMPORT_FORM_KEYS[name]) or "")


def import_form_errors() -> dict[str, str]:
    return dict(st.session_state.get(_ERRORS_KEY, {}))


def _form_fields() -> dict[str, Any]:
    return {
        "name": _form("name"),
        "settings": {name: _form(name) for name in _PUBLIC_FIELDS},
        "client_secret": _form("client_secret"),
        "password": _form("password"),
    }


def save_import_form(ctx: AppContext, connection_id: int | None) -> SavedImportConnection | None:
    """Validate every field and save; on a problem keep each field's message for the form, save nothing."""
    try:
        saved = ctx.store.save_import_connection(connection_id=connection_id, **_form_fields())
    except ConnectionInvalid as invalid:
        st.session_state[_ERRORS_KEY] = invalid.field_errors
        return None
    st.session_state[_ERRORS_KEY] = {}
    st.session_state[IMPORT_FORM_KEYS["client_secret"]] = ""
    st.session_state[IMPORT_FORM_KEYS["password"]] = ""
    return saved


def _form_settings(ctx: AppContext, connection_id: int | None) -> CersImportSettings:
    fields = _form_fields()
    errors = ctx.store.check_import_connection(connection_id=connection_id, **{**fields, "name": fields["name"] or "x"})
    errors.pop("name", None)
    if errors:
        st.session_state[_ERRORS_KEY] = errors
        raise ConnectionInvalid(errors)
    secrets = {k: fields[k] for k in ("client_secret", "password") if fields[k].strip()}
    if connection_id is not None:
        stored = ctx.store.import_settings(ctx.store.import_connection(connection_id))
        for key in ("client_secret", "password"):
            value = getattr(stored, key)
            if key not in secrets and value is not None and (key != "password" or fields["settings"]["username"]):
                secrets[key] = value.get_secret_value()
    try:
        return CersImportSettings.model_validate({**fields["settings"], **secrets})
    except ValidationError as error:
        st.session_state[_ERRORS_KEY] = field_messages(error)
        raise ConnectionInvalid(field_messages(error)) from None


def test_import_form(ctx: AppContext, connection_id: int | None) -> str:
    """Get a token and list an unused batch with the form's settings; nothing is sent.

    Raises ``ConnectionInvalid`` for fields to fix, an ``UploadError`` when CERS says no.
    """
    settings = _form_settings(ctx, connection_id)
    st.session_state[_ERRORS_KEY] = {}
    return check_import_connection(settings)


# -- keeping files, and what the next one changes ---------------------------------------------------


def _schools_of(export: GroupExport) -> list[str]:
    return [cds for cds in export.rows["school_natural_id"].unique(maintain_order=True).to_list() if cds]


def keep_export_file(ctx: AppContext, saved: SavedConnection, export: GroupExport, *, how: str) -> None:
    """Keep each school's part of a file that left the app (downloaded or sent), with its sections."""
    for cds in _schools_of(export):
        rows = export.rows.filter(pl.col("school_natural_id") == cds)
        data = write_ordered_rows(rows)
        sections = export.groups.filter(pl.col("school_natural_id") == cds).select(
            "group_name", pl.col("school_year").cast(pl.Int64), "class_id"
        )
        ctx.store.keep_file(
            connection_id=saved.id,
            school=cds,
            how=how,
            csv_bytes=data,
            rows=rows.height,
            sha256=hashlib.sha256(data).hexdigest(),
            sections=[(str(n), int(y), c) for n, y, c in sections.iter_rows()],
        )
    st.session_state.pop(_CHANGES_KEY, None)  # the next comparison is with this file


def download_and_keep(ctx: AppContext, saved: SavedConnection, label: str, export: GroupExport) -> None:
    """The download button's callback: the download log, and the file kept for the next comparison."""
    log_download(ctx, saved, label, export)
    keep_export_file(ctx, saved, export, how="download")


def changes(ctx: AppContext, saved: SavedConnection, export: GroupExport) -> tuple[GroupDiff, str] | None:
    """What this export changes compared with the files kept for its schools, and a sentence saying
    which files those are; None when no file was kept for any of its schools."""
    kept = [k for k in (ctx.store.kept_file(saved.id, cds) for cds in _schools_of(export)) if k is not None]
    if not kept:
        return None
    key = (saved.id, hashlib.sha256(export.csv_bytes).hexdigest(), tuple(k.sha256 for k in kept))
    cache = st.session_state.setdefault(_CHANGES_KEY, {})
    if key not in cache:
        compared = {k.school for k in kept}
        old_sections = pl.DataFrame(
            [(k.school, name, year, class_id) for k in kept for name, year, class_id in k.sections],
            schema={"school_natural_id": pl.String, "group_name": pl.String, "school_year": pl.Int64,
                    "class_id": pl.String},
            orient="row",
        )  # fmt: skip
        old_rows = pl.concat([read_group_rows(k.csv_bytes).drop("row") for k in kept])
        old = group_file(old_rows, sections=old_sections)
        new_rows = export.rows.filter(pl.col("school_natural_id").is_in(list(compared)))
        new = group_file(new_rows, sections=export.groups)
        when = max(kept, key=lambda k: k.at)
        verb = "sent to CERS" if when.how == "upload" else "downloaded"
        missing = len(_schools_of(export)) - len(kept)
        note = f"Compared with the file last {verb} for {'these schools' if len(kept) > 1 else 'this school'} "
        note += f"({when.at:%Y-%m-%d %H:%M} UTC)."
        if missing:
            note += f" {missing:,} of the schools have no earlier file and are left out of the comparison."
        cache.clear()  # one comparison per session is enough to keep
        cache[key] = (diff_group_files(old, new), note)
    return cache[key]


def changes_groups_frame(diff: GroupDiff) -> pl.DataFrame:
    labels = {
        "change": "Change",
        "group_name": "Group",
        "old_name": "Old name",
        "school_natural_id": "School",
        "teachers_added": "Teachers added",
        "teachers_removed": "Teachers removed",
        "students_added": "Students added",
        "students_removed": "Students removed",
        "teachers": "Teachers",
        "students": "Students",
        "subject_code": "Subject",
        "old_subject_code": "Old subject",
        "matched_by": "Renamed, found by",
    }
    names = {
        "added": "added",
        "disappears": "not in this file (CERS keeps it)",
        "renamed": "renamed",
        "changed": "changed",
    }
    return diff.groups.with_columns(pl.col("change").replace_strict(names, return_dtype=pl.String)).select(
        pl.col(name).alias(label) for name, label in labels.items()
    )


def changes_people_frame(diff: GroupDiff) -> pl.DataFrame:
    labels = {"group_name": "Group", "role": "Role", "person": "SSID or login", "change": "Change", "note": "Note"}
    return diff.members.select(pl.col(name).alias(label) for name, label in labels.items())


# -- sending --------------------------------------------------------------------------------------------


def send_to_cers(
    ctx: AppContext,
    saved: SavedConnection,
    target: SavedImportConnection,
    export: GroupExport,
    *,
    label: str,
    on_progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Send an export's file to CERS (see ``cers_core.rdw``); the file is kept and logged unless CERS rejected it.

    Raises the ``UploadError`` s of ``upload_group_file``.
    """
    settings = ctx.store.import_settings(target)
    result = _upload(
        settings,
        export.csv_bytes,
        file_name=export.file_name(),
        context=UploadContext(max_wait=_APP_WAIT_SECONDS, on_progress=on_progress),
    )
    if not result.rejected:
        log_download(ctx, saved, f"{label} → CERS ({target.name})", export)
        keep_export_file(ctx, saved, export, how="upload")
    return result


def failures_frame(result: ImportResult) -> pl.DataFrame:
    labels = {"row": "Row", "failure": "CERS said", "where": "Where", "fix": "What to do"}
    return result.failures.select(pl.col(name).alias(label) for name, label in labels.items())


# -- checking any file ---------------------------------------------------------------------------------


def parse_years(text: str) -> list[int] | None:
    """``"2026, 2027"`` → ``[2026, 2027]``; blank → None; raises ``ValueError`` with a plain message."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    if not parts:
        return None
    if not all(p.isdigit() and len(p) == 4 for p in parts):
        raise ValueError("Write school years as end years, like 2027 for 2026-27, separated by commas.")
    return [int(p) for p in parts]


def parse_schools(text: str) -> list[str] | None:
    """CDS codes separated by commas, spaces or lines; blank → None."""
    parts = [p for p in text.replace(";", ",").replace("\n", ",").replace(" ", ",").split(",") if p]
    return parts or None


def check_uploaded_file(
    upload: BinaryIO, *, school_years: list[int] | None, schools: list[str] | None
) -> ValidationReport:
    """The validator's report on an uploaded file, read from its stream (no copy of its bytes is made)."""
    upload.seek(0)
    try:
        return validate_cers_csv(upload, school_years=school_years, schools=schools)
    finally:
        upload.seek(0)


def findings_frame(report: ValidationReport) -> pl.DataFrame:
    """Every finding, blocking ones first: who found it (CERS or our check), where, what, and the fix."""
    blocking = report.errors
    rows = [
        {
            "Severity": "error",
            "From": "CERS" if finding.source == "cers" else "our check",
            "Row": "file" if finding.row == 0 else f"{finding.row:,}",
            "Message": finding.message,
            "Fix": finding.fix,
        }
        for finding in blocking
    ] + [
        {"Severity": "warning", "From": "our check", "Row": "file" if f.row == 0 else f"{f.row:,}",
         "Message": f.message, "Fix": f.fix}
        for f in report.warnings
    ]  # fmt: skip
    schema = dict.fromkeys(("Severity", "From", "Row", "Message", "Fix"), pl.String)
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


# -- the Section Groups page's two CERS panels ----------------------------------------------------------


def show_diff(diff: GroupDiff, key: str) -> None:
    """A difference: the summary in sentences, then the groups and the people in grids."""
    summary = diff.summary()
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


def show_changes(ctx: AppContext, saved: SavedConnection, export: GroupExport, key: str) -> None:
    """ "What changes in CERS": the difference with the file kept for these schools, if any."""
    st.subheader("What changes in CERS")
    try:
        found = changes(ctx, saved, export)
    except CersError as error:
        st.warning(f"The earlier file could not be compared: {error}")
        return
    if found is None:
        st.caption(
            "No earlier file of these schools was downloaded or sent from this connection. Once you download or "
            "send this one, the next file will be compared with it."
        )
        return
    diff, note = found
    st.caption(note)
    show_diff(diff, key)


def show_send(ctx: AppContext, saved: SavedConnection, export: GroupExport, label: str, key: str) -> None:
    """ "Send to CERS": the button (enabled only for a file CERS would accept and with an import connection)
    and the result of the last send of this file."""
    st.subheader("Send to CERS")
    targets = {target.id: target for target in import_connections(ctx)}
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
    result_key = (saved.id, target.id, hashlib.sha256(export.csv_bytes).hexdigest())
    if not export.accepted:
        st.caption("Sending is off: CERS would reject this file (see above).")
    st.caption(
        "CERS replaces the members of every group in the file with exactly these teachers and students; "
        "groups not in the file stay as they are."
    )
    if st.button(
        "Send to CERS",
        key=f"{key}_send",
        type="primary",
        icon=":material/cloud_upload:",
        disabled=not export.accepted,
    ):
        status = st.status(f"Sending the file to CERS ({target.name})…", expanded=True)
        try:
            result: ImportResult | str = send_to_cers(
                ctx, saved, target, export, label=label, on_progress=lambda text: status.write(text)
            )
            status.update(label="CERS answered.", state="complete", expanded=False)
        except UploadError as error:
            result = str(error)
            status.update(label="The file could not be sent.", state="error", expanded=False)
        sent[result_key] = result
    outcome = sent.get(result_key)
    if isinstance(outcome, str):
        st.error(outcome, icon=":material/cloud_off:")
    elif outcome is not None:
        _show_result(outcome, key)


def _show_result(result: ImportResult, key: str) -> None:
    headline = f"**{result.status}** · {result.headline()}"
    if result.succeeded and result.already_processed:
        st.info(headline, icon=":material/content_copy:")
    elif result.succeeded:
        st.success(headline, icon=":material/check_circle:")
    elif not result.finished:
        st.warning(headline, icon=":material/hourglass:")
    else:
        st.error(headline, icon=":material/block:")
    for note in result.notes:
        st.caption(note)
    if result.rejected and result.failures.height:
        st.markdown("What CERS reported, and where it is in the file:")
        paged_grid(failures_frame(result), f"{key}_failures_page", "Failures")
    if result.message:
        with st.expander("CERS's own message"):
            st.code(result.message, language=None)
    st.caption(f"Import {result.import_id} · batch {result.batch}")
