"""The command line with a OneRoster CSV bundle (``--oneroster-csv``) instead of a provider, and the
``demo-csv`` command that writes the demo district as one."""

from __future__ import annotations

from pathlib import Path

import pytest

from cers_core.settings import GroupOptions
from cers_demo import generate_district
from cers_demo.csv_bundle import write_csv_bundle
from tests.cli.test_cli import connection, export_args, run_cli
from tests.support import DEMO_REFERENCE_DATE
from tests.support.app import open_store
from tests.support.bundles import bundle_files, zip_bundle

DAY = ["--as-of", DEMO_REFERENCE_DATE.isoformat()]


@pytest.fixture(scope="module")
def demo_zip(demo_district, tmp_path_factory) -> Path:
    """The district the ``demo_server`` fixture serves, as a 1.2 zip."""
    return write_csv_bundle(demo_district, tmp_path_factory.mktemp("bundle") / "sierra-vista.zip")


@pytest.fixture
def cli(monkeypatch):
    """The command line with no client secret in the environment: a bundle needs none."""

    def invoke(*args: str, secret: str | None = None) -> tuple[int, str, str]:
        return run_cli(list(args), monkeypatch, secret)

    return invoke


def counts(report: str) -> str:
    """The report's line of counts (a provider's read shows its progress before it)."""
    return next(line for line in report.splitlines() if " groups, " in line)


def after_counts(report: str) -> list[str]:
    lines = report.splitlines()
    return lines[lines.index(counts(report)) + 1 :]


def test_the_district_file_from_the_bundle_is_the_rest_file_byte_for_byte(cli, demo_server, demo_zip, tmp_path):
    from_bundle, over_rest = tmp_path / "bundle.csv", tmp_path / "rest.csv"
    code, out, err = cli(
        "export", "--oneroster-csv", str(demo_zip), *DAY, "--all-schools", "--split-large", "--out", str(from_bundle)
    )
    assert (code, out) == (0, ""), err
    rest = export_args(demo_server, "--all-schools", "--split-large", "--out", str(over_rest))
    rest_code, _, rest_err = cli(*rest, secret=demo_server.client_secret)
    assert rest_code == 0, rest_err
    assert from_bundle.read_bytes() == over_rest.read_bytes()
    assert from_bundle.stat().st_size > 250_000  # the whole district, not an empty file twice
    assert counts(err).endswith("from 3 schools; read from a OneRoster CSV bundle (1.2), 7 files.")
    assert counts(rest_err).endswith(" requests.")
    assert after_counts(err) == after_counts(rest_err)  # the rest of the report is the same too


def test_a_school_by_its_cds_code_from_a_1_1_folder(cli, demo_server, demo_district, tmp_path):
    folder = write_csv_bundle(demo_district, tmp_path / "bundle-1.1", version="1.1")
    args = ["--school", "36739576952553", "--fields", "class_code,period", *DAY]
    code, from_bundle, err = cli("export", "--oneroster-csv", str(folder), *args)
    assert code == 0, err
    _, over_rest, _ = cli("export", *connection(demo_server), *args, secret=demo_server.client_secret)
    assert from_bundle == over_rest
    assert {line.split(",")[1] for line in from_bundle.splitlines()[1:]} == {"36739576952553"}
    assert counts(err).endswith("from 1 school; read from a OneRoster CSV bundle (1.1), 6 files.")


def test_schools_from_the_bundle_are_the_provider_s(cli, demo_server, demo_zip):
    code, from_bundle, _ = cli("schools", "--oneroster-csv", str(demo_zip))
    assert code == 0
    _, over_rest, _ = cli("schools", *connection(demo_server), secret=demo_server.client_secret)
    assert from_bundle == over_rest
    assert from_bundle.splitlines()[0] == "Canoga High School\torg-0003\t36739573263901"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--oneroster-csv", "b.zip", "--base-url", "https://sis.example.org/ims"], "leave out --base-url."),
        (["--oneroster-csv", "b.zip", "--page-size", "50", "--deadline", "9"], "leave out --page-size, --deadline."),
        (
            [],
            "export needs --base-url, --token-url, --client-id, or --connection NAME for a saved connection, "
            "or --oneroster-csv PATH for a CSV bundle.",
        ),
        (["--client-id", "x"], "export needs --base-url, --token-url, or --connection NAME"),
        (["--oneroster-csv", "b.zip", "--connection", "District"], "leave out --connection."),
    ],
)
def test_a_bundle_and_a_provider_do_not_mix(cli, tmp_path, args, message):
    code, out, err = cli("export", *args, "--all-schools", "--out", str(tmp_path / "groups.csv"))
    assert (code, out) == (2, "")
    assert message in err
    assert not (tmp_path / "groups.csv").exists()


def test_a_unknown_school_is_a_usage_error(cli, demo_zip):
    code, _, err = cli("export", "--oneroster-csv", str(demo_zip), "--school", "nowhere", *DAY)
    assert code == 2 and "No school with the sourcedId or CDS code nowhere" in err


def bad_enrollments(rows: int) -> bytes:
    """Lincoln High's enrollments.csv with ``rows`` more records, each with a bad status, role and primary flag;
    the status holds an ESC sequence, which a terminal would obey."""
    header = (
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate"
    )
    lines = [f"bad-{n},on\x1b[2J,,cls-art,sch-lhs,s-4,pupil,maybe,," for n in range(rows)]
    good = bundle_files("lincoln_high", "1.2")["enrollments.csv"].decode().splitlines()[1:]
    return "\n".join([header, *good, *lines, ""]).encode()


def test_a_bad_bundle_exits_2_prints_its_report_escaped_and_capped_and_writes_nothing(cli, tmp_path):
    bundle = tmp_path / "bad.zip"
    bundle.write_bytes(zip_bundle(bundle_files("lincoln_high", "1.2") | {"enrollments.csv": bad_enrollments(30)}))
    target = tmp_path / "groups.csv"
    target.write_bytes(b"yesterday's file")
    code, out, err = cli("export", "--oneroster-csv", str(bundle), "--all-schools", "--out", str(target))
    assert (code, out) == (2, "")
    assert target.read_bytes() == b"yesterday's file"  # left as it was
    lines = err.splitlines()
    # Three kinds of error, 30 each: 20 of each listed, and a line for the other 10 (63 lines), shown to 50.
    assert lines[:3] == [
        "error: The OneRoster CSV bundle cannot be used: 90 problems must be fixed first.",
        "ERRORS (90):",
        "  - enrollments.csv, line 25, status: The status is 'on\\x1b[2J': it must be active or tobedeleted "
        "(1.1's inactive is read as tobedeleted). Any other word could keep a record that is to be deleted.",
    ]
    assert lines[52:54] == ["  … and 13 more problems.", "WARNINGS (3):"]  # Lincoln High's own (a ghost class …)
    assert lines[-2:] == [
        "Fix them in the SIS or its export settings and export the bundle again; the report lists each with its "
        "file, line and column.",
        "Nothing was written.",
    ]
    assert "\x1b" not in err


def test_no_bundle_at_the_path(cli, tmp_path):
    code, _, err = cli("schools", "--oneroster-csv", str(tmp_path / "nowhere.zip"))
    assert code == 2
    assert "  - nowhere.zip: There is no file or folder at this path." in err.splitlines()


def test_demo_csv_writes_the_district_demo_server_serves(cli, tmp_path):
    code, out, err = cli(
        "demo-csv", "--scale", "demo", "--seed", "11", "--version", "1.1", "--out", str(tmp_path / "b")
    )
    assert code == 0, err
    assert out == f"{tmp_path / 'b'}\n"
    assert "as a OneRoster 1.1 CSV bundle" in err and "export --oneroster-csv" in err
    expected = write_csv_bundle(generate_district(scale="demo", seed=11), tmp_path / "expected", version="1.1")
    written = {path.name: path.read_bytes() for path in (tmp_path / "b").iterdir()}
    assert written == {path.name: path.read_bytes() for path in expected.iterdir()}
    assert len(written) == 7 and "roles.csv" not in written


def test_demo_csv_writes_a_zip_that_exports(cli, tmp_path):
    bundle = tmp_path / "new" / "demo.zip"
    assert cli("demo-csv", "--out", str(bundle))[0] == 0
    code, out, err = cli("export", "--oneroster-csv", str(bundle), "--all-schools", "--split-large")
    assert code == 0, err
    assert out.startswith("group_name,school_natural_id,")


@pytest.mark.parametrize(
    ("make", "out", "message"),
    [
        (lambda p: (p / "x.zip").mkdir(), "x.zip", "is a folder, though its name ends in .zip"),
        (lambda p: (p / "notes.txt").write_text("mine"), "notes.txt", "is a file: give a path ending in .zip"),
        (lambda p: (p / "notes.txt").write_text("mine"), ".", "holds other files than a bundle's"),
    ],
)
def test_demo_csv_never_writes_over_what_is_not_a_bundle(cli, tmp_path, make, out, message):
    make(tmp_path)
    before = sorted(tmp_path.iterdir())
    code, _, err = cli("demo-csv", "--out", str(tmp_path / out))
    assert code == 2 and message in err
    assert sorted(tmp_path.iterdir()) == before


def test_a_saved_bundle_connection_exports_its_bundle_on_the_server(cli, demo_zip, data_dir, monkeypatch, tmp_path):
    store = open_store(data_dir)
    options = GroupOptions(split_large=True)
    store.save_bundle_connection(name="Nightly bundle", settings={"path": str(demo_zip)}, options=options)
    store.save_bundle_connection(name="By hand", settings={"path": None}, options=options)
    saved, given = tmp_path / "saved.csv", tmp_path / "given.csv"

    code, _, err = cli("export", "--connection", "nightly bundle", *DAY, "--all-schools", "--out", str(saved))
    assert code == 2 and "The app reads no bundle on the server: no folder is allowed for it." in err
    monkeypatch.setenv("CERS_BUNDLE_FOLDERS", str(demo_zip.parent))
    code, _, err = cli("export", "--connection", "nightly bundle", *DAY, "--all-schools", "--out", str(saved))
    assert code == 0, err
    cli("export", "--oneroster-csv", str(demo_zip), *DAY, "--all-schools", "--split-large", "--out", str(given))
    assert saved.read_bytes() == given.read_bytes()

    code, _, err = cli("export", "--connection", "By hand", *DAY, "--all-schools")
    assert (code, err) == (
        2,
        "error: This connection's bundle is uploaded on the Section Groups page each time: there is none on the "
        "server to read. Set where on the server the nightly job writes the bundle (CERS Connections, Edit).\n",
    )
