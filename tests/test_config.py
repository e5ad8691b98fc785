"""Deployment settings: every ``CERS_*`` variable is read by ``cers_core.config``, parsed or refused
with a message naming it, and documented in the README's Deploying section."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cers_core.cli import main
from cers_core.config import Config, load_config, variable_name
from cers_core.errors import SettingsError

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
DEPLOYING = README.split("\n## Deploying\n", 1)[1].split("\n## ", 1)[0]
SECRET_FIELDS = ("secret_key", "client_secret", "import_client_secret", "import_password")


def test_nothing_set_means_the_defaults() -> None:
    assert load_config({}) == Config()
    assert load_config({}).demo is True and load_config({}).data_dir is None


@pytest.mark.parametrize(
    ("value", "demo"),
    [("on", True), ("", True), ("1", True), ("Yes", True), (" true ", True),
     ("off", False), ("OFF", False), ("0", False), ("no", False), ("false", False)],
)  # fmt: skip
def test_the_demo_switch(value: str, demo: bool) -> None:
    assert load_config({"CERS_DEMO": value}).demo is demo


def test_a_value_that_cannot_be_used_names_its_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        load_config({"CERS_DEMO": "maybe"})
    assert str(caught.value).startswith("The environment variable CERS_DEMO cannot be used: write on or off.")
    assert caught.value.field == "demo" and caught.value.hint == "Fix or unset it, then start again."
    assert "maybe" not in str(caught.value)


def test_the_data_folder_is_expanded_and_blank_is_unset() -> None:
    assert load_config({"CERS_DATA_DIR": " ~/cers-data "}).data_dir == Path("~/cers-data").expanduser()
    assert load_config({"CERS_DATA_DIR": "  "}).data_dir is None


@pytest.mark.parametrize("field", SECRET_FIELDS)
def test_secrets_are_masked_and_blank_is_unset(field: str) -> None:
    config = load_config({variable_name(field): "s3cret-value"})
    assert getattr(config, field).get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(config) and "s3cret-value" not in str(config)
    assert getattr(load_config({variable_name(field): "   "}), field) is None


def test_other_variables_are_ignored() -> None:
    assert load_config({"CERS_UNKNOWN": "x", "PATH": "/bin"}) == Config()


def test_the_command_line_reads_its_secret_through_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERS_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("CERS_DEMO", "maybe")  # a variable config refuses: the CLI must have asked config
    err = io.StringIO()
    code = main(["schools", "--base-url", "https://sis.example.org/v1p2", "--token-url",
                 "https://sis.example.org/token", "--client-id", "c"], out=io.StringIO(), err=err)  # fmt: skip
    assert code == 2 and "CERS_DEMO" in err.getvalue()


@pytest.mark.parametrize("field", list(Config.model_fields))
def test_every_variable_is_in_the_readme_deploying_section(field: str) -> None:
    assert f"| `{variable_name(field)}` |" in DEPLOYING, f"{variable_name(field)} is not in README's Deploying"


def test_bundle_folders_are_full_paths_separated_as_in_path() -> None:
    config = load_config({"CERS_BUNDLE_FOLDERS": " /srv/sis-exports : ~/bundles ::"})
    assert config.bundle_folders == (Path("/srv/sis-exports"), Path("~/bundles").expanduser())
    assert load_config({}).bundle_folders == ()
    with pytest.raises(SettingsError) as caught:
        load_config({"CERS_BUNDLE_FOLDERS": "/srv/sis-exports:exports"})
    assert str(caught.value) == (
        "The environment variable CERS_BUNDLE_FOLDERS cannot be used: give each folder as a full path, starting "
        "with / (exports is not). Fix or unset it, then start again."
    )
