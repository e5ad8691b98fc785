"""Bad input at the boundary: connection settings (form and command line) and files given to the validator.

Each bad value gets a message that names the field and what to do, and nothing else happens:
no request, no crash, no file. (The validator's handling of broken files is covered in depth
by ``test_cers_csv_validator.py``: encodings, BOMs, line ends, huge lines, open quotes,
garbage, 200,000 rows in bounded memory; here are the cases it did not pin.)
"""

from __future__ import annotations

import io

import pytest
from pydantic import ValidationError

from cers_core.cers_csv import validate_cers_csv
from cers_core.cli import main
from cers_core.settings import GroupOptions, OneRosterSettings

GOOD = {
    "base_url": "https://sis.example.org/ims/oneroster/rostering/v1p2",
    "token_url": "https://sis.example.org/oauth2/token?appName=district",
    "client_id": "district-app",
    "client_secret": "s3cret",
}


def problems(**changes: object) -> dict[str, str]:
    """Field -> message for settings with ``changes``; empty when they are accepted."""
    try:
        OneRosterSettings(**(GOOD | changes))
    except ValidationError as error:
        return {str(e["loc"][0]): str(e["msg"]).removeprefix("Value error, ") for e in error.errors()}
    return {}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("base_url", "", "Enter the Base URL"),
        ("base_url", "   ", "Enter the Base URL"),
        ("base_url", "sis.example.org/ims", "must be a full web address"),
        ("base_url", "ftp://sis.example.org/ims", "must be a full web address"),
        ("base_url", "https:///ims", "must be a full web address"),
        ("base_url", "http://sis.example.org/ims", "must use https://"),
        ("base_url", "http://10.0.0.5/ims", "must use https://"),
        ("base_url", "https://sis.example.org/a b", "spaces or control characters"),
        ("base_url", "https://sis.example.org/ims\x00", "spaces or control characters"),
        ("base_url", "https://sis.example.org/i\nms", "spaces or control characters"),
        ("base_url", "https://sis.example.org/" + "a" * 2000, "too long"),
        ("base_url", "https://sis.example.org:99999/ims", "not a valid web address"),
        ("base_url", "https://sis.example.org:https/ims", "not a valid web address"),
        ("base_url", "https://[::1/ims", "not a valid web address"),
        ("base_url", "https://sis.example.org:0/ims", "port 0"),
        ("base_url", "https://admin:pw@sis.example.org/ims", "user name or password"),
        ("base_url", "https://sis.example.org/ims#rostering", "must not contain '#'"),
        ("base_url", "https://sis.example.org/ims?appName=x", "query string"),
        ("token_url", "", "Enter the Token URL"),
        ("token_url", "http://sis.example.org/token", "must use https://"),
        ("token_url", "https://app:secret@sis.example.org/token", "user name or password"),
        ("token_url", "https://sis.example.org/token#x", "must not contain '#'"),
        ("client_id", "", "at least 1 character"),
        ("client_id", "  ", "at least 1 character"),
        ("client_id", "x" * 501, "at most 500 characters"),
        ("client_id", "district\tapp", "control characters"),
        ("client_secret", "", "Enter the Client Secret"),
        ("client_secret", "   ", "Enter the Client Secret"),
        ("client_secret", "s" * 2001, "too long"),
        ("client_secret", "line\nbreak", "control characters"),
        ("scope", "x" * 2001, "at most 2000 characters"),
        ("scope", "a\x07b", "control characters"),
        ("page_size", 0, "greater than or equal to 1"),
        ("page_size", 100_001, "less than or equal to 100000"),
        ("max_concurrency", 0, "greater than or equal to 1"),
        ("max_concurrency", 17, "less than or equal to 16"),
    ],
)
def test_each_bad_setting_gets_a_message_beside_its_field(field, value, message):
    found = problems(**{field: value})
    assert list(found) == [field]
    assert message in found[field]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"base_url": "http://localhost:8000/ims"},
        {"base_url": "http://127.0.0.2/ims", "token_url": "http://[::1]:9/token"},
        {"base_url": "https://sis.example.org:8443/ims/"},
        {"token_url": "https://login.example.com/oauth2/token?realm=/district&appName=x"},
        {"client_secret": "  spaces inside and around are kept  "},
    ],
)
def test_good_settings_are_accepted(changes):
    assert problems(**changes) == {}


def test_a_token_url_on_another_host_is_allowed_but_shown():
    same = OneRosterSettings(**GOOD)
    other = OneRosterSettings(**(GOOD | {"token_url": "https://login.example.com/oauth2/token"}))
    assert not same.token_host_differs and other.token_host_differs


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--base-url", "https://admin:pw@sis.example.org/ims"], "--base-url: The Base URL must not hold a user name"),
        (["--base-url", "https://sis.example.org:99999/ims"], "--base-url: The Base URL is not a valid web address"),
        (["--token-url", "http://sis.example.org/token"], "--token-url: The Token URL must use https://"),
        (["--client-id", "a\tb"], "--client-id: Remove the control characters"),
        (["--page-size", "0"], "--page-size:"),
        (["--concurrency", "99"], "--concurrency:"),
    ],
)
def test_the_command_line_refuses_bad_settings_before_any_request(monkeypatch, flags, message):
    monkeypatch.setenv("CERS_CLIENT_SECRET", "s3cret-never-shown")
    values = {"--base-url": GOOD["base_url"], "--token-url": GOOD["token_url"], "--client-id": "app"}
    args = ["schools"]
    for flag, value in values.items():
        args += [flag, value]
    args += flags  # argparse keeps the last of a repeated option
    out, err = io.StringIO(), io.StringIO()
    assert main(args, out=out, err=err) == 2
    assert message in err.getvalue()
    assert "s3cret-never-shown" not in err.getvalue() + out.getvalue()


def test_a_secret_with_control_characters_is_refused_without_being_shown(monkeypatch):
    monkeypatch.setenv("CERS_CLIENT_SECRET", "s3cret\x1b[2J")
    args = ["schools", "--base-url", GOOD["base_url"], "--token-url", GOOD["token_url"], "--client-id", "app"]
    err = io.StringIO()
    assert main(args, out=io.StringIO(), err=err) == 2
    assert "CERS_CLIENT_SECRET: The Client Secret contains control characters" in err.getvalue()
    assert "s3cret" not in err.getvalue()


# -- files given to the validator ---------------------------------------------------------------

HEADER = b"group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n"


@pytest.mark.parametrize(
    ("data", "extra"),
    [
        (b"", None),
        (HEADER, None),
        (b"\r\n\r\n\r\n", None),
        (b"\x00" * 4096, "NUL bytes"),
        (HEADER.decode().encode("utf-16"), "UTF-16"),
    ],
    ids=["empty", "header only", "blank lines only", "NUL bytes", "UTF-16 header only"],
)
def test_files_without_rows_get_a_report_not_a_crash(data, extra):
    report = validate_cers_csv(data)
    assert not report.accepted
    assert report.cers_message().startswith("Row: 0 Failure: ")
    if extra:
        assert any(extra in finding.message for finding in report.errors)


def test_the_command_line_validates_garbage_and_refuses_a_folder(tmp_path):
    garbage = tmp_path / "photo.csv"
    garbage.write_bytes(bytes(range(256)) * 64)
    out, err = io.StringIO(), io.StringIO()
    assert main(["validate", str(garbage)], out=out, err=err) == 1
    assert "reject" in out.getvalue().lower()
    assert main(["validate", str(tmp_path)], out=io.StringIO(), err=err) == 2
    assert "no file" in err.getvalue().lower()


@pytest.mark.parametrize("separator", [" \x01 ", " \N{SLIGHTLY SMILING FACE} ", ", ", ' " ', "\t"])
def test_a_separator_cers_cannot_store_or_read_is_refused(separator):
    with pytest.raises(ValidationError, match="separator may not hold"):
        GroupOptions(separator=separator)
