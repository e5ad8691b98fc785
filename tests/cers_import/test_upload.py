"""Sending group files to CERS: the upload client against the fake RDW import service, over loopback HTTP."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from cers_core import GroupExport, GroupOptions, OneRosterSettings, export_section_groups, list_schools
from cers_core.cers_import import (
    UploadContext,
    batch_name,
    check_import_connection,
    upload_group_file,
)
from cers_core.errors import (
    ImportAuthFailed,
    ImportPermissionDenied,
    ImportUnreachable,
    UploadOutcomeUnknown,
    UploadRefused,
)
from cers_core.http.retry import RetryPolicy
from cers_core.settings import CersImportSettings
from cers_demo.fake_cers_import import FakeImportOptions, FakeImportServer
from tests.support import DEMO_REFERENCE_DATE

HEADER = b"group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n"
SCHOOL_A, SCHOOL_B = "01612590130146", "19647336108641"
FAST = UploadContext(poll_interval=0.05, max_wait=5.0, retry=RetryPolicy(max_attempts=4, base_delay=0.01))


def small_file(*, school: str = SCHOOL_A, name: str = "Algebra 1 - Lee - 3") -> bytes:
    return (
        HEADER
        + (
            f"{name},{school},2027,All,,lee@district.example.org\r\n"
            f"{name},{school},2027,All,1234567890,\r\n"
            f"{name},{school},2027,All,1234567891,\r\n"
        ).encode()
    )


@pytest.fixture(scope="module")
def two_school_export(demo_server) -> GroupExport:
    """The section groups of the demo district's first two schools, as the app would send them."""
    settings = OneRosterSettings(
        base_url=demo_server.base_url,
        token_url=demo_server.token_url,
        client_id=demo_server.client_id,
        client_secret=demo_server.client_secret,
    )
    schools = list_schools(settings).drop_nulls("cds")["sourced_id"].to_list()[:2]
    return export_section_groups(settings, GroupOptions(split_large=True), schools=schools, as_of=DEMO_REFERENCE_DATE)


@pytest.fixture
def fake() -> Iterator[Callable[..., FakeImportServer]]:
    """``fake(**options)``: a started fake import service (processing takes 0.1 s unless told)."""
    servers: list[FakeImportServer] = []

    def make(**options: Any) -> FakeImportServer:
        options.setdefault("processing_seconds", 0.1)
        server = FakeImportServer(FakeImportOptions(**options)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def upload(server: FakeImportServer, data: bytes, *, settings: CersImportSettings | None = None, **context: Any):
    ctx = UploadContext(**{**{f: getattr(FAST, f) for f in ("poll_interval", "max_wait", "retry")}, **context})
    return upload_group_file(settings or server.settings(), data, file_name="groups.csv", context=ctx)


def test_a_district_export_is_processed_and_cers_then_holds_exactly_its_groups(fake, two_school_export):
    server = fake()
    result = upload(server, two_school_export.csv_bytes)
    assert result.succeeded and result.finished and not result.already_processed
    assert result.status == "PROCESSED" and result.import_id is not None
    assert result.batch == result.sent_batch and result.batch.startswith("groups.")
    schools = two_school_export.rows["school_natural_id"].unique().to_list()
    assert sorted(result.message.splitlines()) == sorted(
        f"{n} group{'s' if n != 1 else ''} accepted for {school}."
        for school, n in two_school_export.groups.group_by("school_natural_id").len().iter_rows()
    )
    held = server.service.groups
    assert len(held) == two_school_export.groups.height and {g.school_natural_id for g in held.values()} == set(schools)
    rows = two_school_export.rows
    students = rows.filter(rows["student_ssid"] != "").group_by("group_name").len()
    for name, count in students.iter_rows():
        group = next(g for g in held.values() if g.group_name == name)
        assert len(group.students) == count
    assert "CERS processed the file" in result.to_text()


def test_the_password_grant_works_too(fake):
    server = fake()
    result = upload(server, small_file(), settings=server.settings(password_grant=True))
    assert result.succeeded and result.creator == server.options.username


def test_bad_data_is_mapped_to_groups_and_people_and_nothing_is_applied(fake):
    server = fake(schools=(SCHOOL_A,))  # the account may not write groups for school B
    data = small_file() + small_file(school=SCHOOL_B, name="Biology - Park - 1").removeprefix(HEADER)
    result = upload(server, data)
    assert result.status == "BAD_DATA" and result.rejected and not result.succeeded
    assert result.message == f"Row: 4 Failure: School [{SCHOOL_B}] can not be found"
    failure = result.failures.row(0, named=True)
    assert failure["row"] == 4 and failure["group_name"] == "Biology - Park - 1"
    assert failure["school_natural_id"] == SCHOOL_B and failure["group_user_login"] == "lee@district.example.org"
    assert (
        failure["where"] == f"teacher lee@district.example.org in group “Biology - Park - 1” (school {SCHOOL_B}, 2027)"
    )
    assert "GROUP_ADMIN" in failure["fix"]
    assert server.service.groups == {}  # all or nothing: school A's group was not applied either
    assert "rejected the file" in result.to_text() and "Row 4" in result.to_text()


def test_a_year_cers_does_not_know_names_the_first_row_of_that_year(fake):
    server = fake(school_years=(2026,))
    result = upload(server, small_file())
    assert result.failures.select("row", "failure", "student_ssid").rows() == [(1, "Invalid school year: 2027", "")]
    assert "school year 2027" in result.failures["fix"][0]


def test_an_identical_file_is_not_processed_again_and_the_result_says_so(fake):
    server = fake()
    first = upload(server, small_file())
    second = upload(server, small_file())
    assert first.succeeded and second.succeeded
    assert second.already_processed and second.import_id == first.import_id
    assert second.batch == first.batch != second.sent_batch
    assert "did not process it again" in second.headline()
    assert any("only processes new bytes" in note for note in second.notes)
    assert len(server.service.imports()) == 1
    changed = upload(server, small_file(name="Algebra 1 - Lee - 4"))
    assert changed.succeeded and not changed.already_processed and changed.import_id != first.import_id


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "Empty file"),
        (HEADER, "Empty file"),
        (small_file(school=SCHOOL_A[1:]), "13 digits"),
        (small_file().replace(b"1234567891", b"123456789"), ""),
        (HEADER + b"".join(f"Big,{SCHOOL_A},2027,All,{1_000_000_000 + i},\r\n".encode() for i in range(201)), "200"),
    ],
    ids=["empty", "header-only", "13-digit-school", "nine-digit-ssid", "201-students"],
)
def test_a_file_our_validator_rejects_is_never_sent(fake, data, why):
    server = fake()
    with pytest.raises(UploadRefused, match="not sent") as caught:
        upload(server, data)
    assert why in str(caught.value)
    assert server.service.posts_received == 0 and server.service.issued_tokens == []


@pytest.mark.parametrize("which", ["client_secret", "password"])
def test_wrong_credentials_are_an_authentication_failure_without_the_secret(fake, which):
    server = fake()
    settings = server.settings(password_grant=which == "password")
    wrong = settings.model_copy(update={which: type(getattr(settings, which))("not-the-right-one-xyz")})
    with pytest.raises(ImportAuthFailed) as caught:
        upload(server, small_file(), settings=wrong)
    text = str(caught.value)
    assert "not-the-right-one-xyz" not in text and server.options.client_secret not in text
    assert ("user name and password" if which == "password" else "Client ID") in text
    assert server.service.posts_received == 0


def test_an_account_without_group_write_is_told_what_role_it_needs(fake):
    server = fake(group_write=False)
    with pytest.raises(ImportPermissionDenied, match="GROUP_ADMIN"):
        upload(server, small_file())
    with pytest.raises(ImportPermissionDenied):
        check_import_connection(server.settings())


def test_check_connection_sends_nothing(fake):
    server = fake()
    assert check_import_connection(server.settings()).startswith("Connected")
    assert server.service.posts_received == 0
    wrong = server.settings().model_copy(update={"client_id": "someone-else"})
    with pytest.raises(ImportAuthFailed):
        check_import_connection(wrong)


def test_a_5xx_while_polling_is_read_again_and_the_file_is_sent_once(fake):
    server = fake(status_failures=2, processing_seconds=0.2)
    result = upload(server, small_file())
    assert result.succeeded
    assert server.service.posts_received == 1 and server.service.status_reads >= 3
    assert any("HTTP 503" in note and "read again" in note for note in result.notes)


def test_status_reads_that_never_clear_leave_the_result_unfinished_not_resent(fake):
    server = fake(status_failures=1000, processing_seconds=0.2)
    result = upload(server, small_file(), retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    assert result.status == "ACCEPTED" and not result.finished and not result.rejected
    assert "do not send it again" in result.headline()
    assert any("could not be read" in note for note in result.notes)
    assert server.service.posts_received == 1


def test_still_processing_when_the_wait_runs_out(fake):
    server = fake(processing_seconds=30)
    result = upload(server, small_file(), max_wait=0.3)
    assert result.status == "ACCEPTED" and any("still processing" in note for note in result.notes)


@pytest.mark.parametrize("fault", ["reset_after_import", "502_after_import"])
def test_a_lost_answer_is_recovered_by_batch_without_sending_again(fake, fault):
    server = fake(post_fault=fault)
    result = upload(server, small_file())
    assert result.succeeded and result.recovered
    assert server.service.posts_received == 1
    assert any("was not sent again" in note for note in result.notes)


def test_an_unknown_outcome_is_reported_with_the_batch_to_check(fake):
    server = fake(post_fault="reset_before_import")
    with pytest.raises(UploadOutcomeUnknown) as caught:
        upload(server, small_file(), max_wait=0.5)
    error = caught.value
    assert error.batch.startswith("groups.") and error.batch in str(error)
    assert "not sent again" in str(error) and "Check the import status" in str(error)
    assert server.service.posts_received == 1


def test_a_refused_connection_is_tried_again_because_nothing_was_sent(fake):
    server = fake()

    class RefuseFirstPost(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()
            self.refused = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "POST" and request.url.path.endswith("/groups/imports") and not self.refused:
                self.refused += 1
                raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
            return await self.inner.handle_async_request(request)

        async def aclose(self) -> None:
            await self.inner.aclose()

    transport = RefuseFirstPost()
    result = upload(server, small_file(), transport=transport)
    assert result.succeeded and transport.refused == 1 and server.service.posts_received == 1
    assert any("the file had not been sent" in note for note in result.notes)


def test_nothing_listening_is_unreachable_quickly():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = CersImportSettings(
        import_url=f"http://127.0.0.1:{port}/rdw-import",
        token_url=f"http://127.0.0.1:{port}/oauth2/token",
        client_id="x",
        client_secret="s3cret-value",
    )
    with pytest.raises(ImportUnreachable, match="was not sent") as caught:
        upload_group_file(settings, small_file(), file_name="g.csv", context=FAST)
    assert "s3cret-value" not in str(caught.value)


def test_a_processing_failure_is_shown_for_the_whole_import(fake):
    server = fake(processing_error="Deadlock found when trying to get lock; try restarting transaction")
    result = upload(server, small_file())
    assert result.status == "BAD_DATA"
    assert result.failures.select("row", "where").rows() == [(None, "the whole import")]


def test_no_secret_or_token_in_anything_the_upload_says(fake):
    server = fake(schools=(SCHOOL_B,))
    settings = server.settings(password_grant=True)
    result = upload(server, small_file(), settings=settings)
    shown = result.to_text() + repr(result) + repr(settings)
    for secret in (server.options.client_secret, server.options.password, *server.service.issued_tokens):
        assert secret not in shown


def test_batch_names_are_unique_and_safe():
    names = {batch_name("cers section groups/../x y.csv") for _ in range(50)}
    assert len(names) == 50
    assert all(name.startswith("x_y.") and name.endswith(".csv") and "/" not in name for name in names)


def test_the_fake_service_answers_raw_posts_and_bad_requests_as_rdw_does(fake):
    server = fake(processing_seconds=0)
    token = httpx.post(
        server.token_url,
        data={"grant_type": "client_credentials"},
        auth=(server.options.client_id, server.options.client_secret),
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    imports = f"{server.import_url}/groups/imports"
    raw = httpx.post(imports, params={"filename": "mine.csv"}, content=small_file(), headers=auth)
    assert raw.status_code == 202 and raw.json()["batch"] == "mine.csv" and raw.json()["status"] == "ACCEPTED"
    assert raw.json()["digest"] == hashlib.md5(small_file()).hexdigest().upper()
    listed = httpx.get(imports, params={"batch": "mine.csv"}, headers=auth).json()
    assert [item["status"] for item in listed] == ["PROCESSED"]
    only_fields = httpx.post(imports, data={"batch": "x"}, files={"note": (None, b"not a file")}, headers=auth)
    assert only_fields.status_code == 400 and only_fields.json()["message"] == "missing multipart file"
    assert httpx.get(imports, headers=auth).status_code == 400  # at least one query parameter
    assert httpx.get(f"{server.import_url}/imports/{raw.json()['id']}", headers=auth).status_code == 403
    assert httpx.get(imports, params={"batch": "mine.csv"}).status_code == 401
    short_header = b"group_name,school_natural_id,school_year\r\nA,01612590130146,2027\r\n"
    assert httpx.post(imports, params={"batch": "short"}, content=short_header, headers=auth).status_code == 500
