"""The three scheduling examples in ``deploy/``: each runs the same ``sync`` with the data folder and the
key from the environment, as a scheduler should; the command they hold runs against the demo district."""

from __future__ import annotations

import configparser
import io
import shlex
from pathlib import Path

import pytest
import yaml

from cers_core.cli import main
from cers_core.config import Config, variable_name
from cers_demo import DemoServer
from cers_demo.fake_cers_import import FakeImportServer
from tests.support import DEMO_REFERENCE_DATE, ROOT
from tests.support.app import open_store
from tests.support.sync import link_to_cers

DEPLOY = ROOT / "deploy"
ENVIRONMENT = (DATA_DIR, SECRET_KEY) = (variable_name("data_dir"), variable_name("secret_key"))


def after_module(words: list[str]) -> list[str]:
    """The command line's words after ``python -m cers_core``."""
    at = words.index("cers_core")
    assert words[at - 1] == "-m" and "python" in words[at - 2]
    return words[at + 1 :]


def cron_command() -> list[str]:
    (line,) = [line for line in (DEPLOY / "cron/cers-sync").read_text().splitlines()
               if line and not line.startswith("#") and "=" not in line.split()[0]]  # fmt: skip
    schedule, command = line.split(None, 5)[:5], line.split(None, 5)[5]
    assert schedule == ["30", "2", "*", "*", "*"]
    assert command.startswith("set -a; . /etc/cers/sync.env; set +a;")  # the environment, from its file
    words = shlex.split(command.split("&&", 1)[1].split(">>", 1)[0])
    return after_module(words)


def systemd_units() -> tuple[configparser.ConfigParser, configparser.ConfigParser]:
    units = []
    for name in ("cers-sync.service", "cers-sync.timer"):
        unit = configparser.ConfigParser(interpolation=None, strict=False)
        unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd's keys are case-sensitive
        unit.read_string((DEPLOY / "systemd" / name).read_text())
        units.append(unit)
    return units[0], units[1]


def kubernetes_job() -> dict:
    return yaml.safe_load((DEPLOY / "kubernetes/cronjob.yaml").read_text())


def test_the_environment_file_sets_the_data_folder_and_the_key_and_nothing_unknown() -> None:
    lines = [line for line in (DEPLOY / "cers-sync.env.example").read_text().splitlines() if line.strip()]
    set_now = [line.split("=", 1)[0] for line in lines if not line.startswith("#")]
    commented = [line.lstrip("# ").split("=", 1)[0] for line in lines if line.startswith("# CERS_")]
    assert set_now == [DATA_DIR, SECRET_KEY]
    assert set(commented) <= {variable_name(field) for field in Config.model_fields}


def test_the_timer_starts_the_service_every_night_and_the_service_reads_the_environment_file() -> None:
    service, timer = systemd_units()
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["EnvironmentFile"] == "/etc/cers/sync.env"
    assert service["Service"]["ReadWritePaths"] == "/var/lib/cers"  # the data folder, and nothing else
    assert timer["Timer"]["OnCalendar"] == "*-*-* 02:30:00" and timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "cers-sync.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_the_cronjob_never_runs_twice_at_once_and_takes_the_key_from_a_secret() -> None:
    job = kubernetes_job()
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "CronJob")
    spec = job["spec"]
    assert spec["schedule"] == "30 2 * * *" and spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert spec["jobTemplate"]["spec"]["backoffLimit"] == 0 and pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert set(env) == {DATA_DIR, SECRET_KEY}
    assert env[SECRET_KEY]["valueFrom"]["secretKeyRef"] == {"name": "cers-secret-key", "key": "key"}
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert env[DATA_DIR]["value"] in mounts


def test_the_three_run_the_same_sync() -> None:
    service, _ = systemd_units()
    commands = {
        "cron": cron_command(),
        "systemd": after_module(shlex.split(service["Service"]["ExecStart"])),
        "kubernetes": after_module(kubernetes_job()["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
                                   [0]["command"]),
    }  # fmt: skip
    shapes = {name: [word if not word.endswith("last-sync.json") else "REPORT" for word in words]
              for name, words in commands.items()}  # fmt: skip
    assert shapes == {name: ["sync", "--report-json", "REPORT"] for name in commands}


def test_the_command_they_hold_sends_the_demo_district(
    data_dir: Path, demo_server: DemoServer, fake_import: FakeImportServer, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    link_to_cers(open_store(data_dir), demo_server, fake_import)  # in the app's data folder, with its key
    monkeypatch.setenv(SECRET_KEY, (data_dir / "secret.key").read_text())  # as the environment file gives it
    report = tmp_path / "last-sync.json"
    words = [str(report) if word.endswith("last-sync.json") else word for word in cron_command()]
    out, err = io.StringIO(), io.StringIO()
    code = main([*words, "--as-of", DEMO_REFERENCE_DATE.isoformat()], out=out, err=err)
    assert code == 0, err.getvalue()
    assert out.getvalue().startswith("District SIS: sent 3 schools to CERS (")
    assert report.is_file() and len(fake_import.service.imports()) == 1
