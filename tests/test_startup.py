"""What the command line imports before it does anything: nothing an export does not need.

A fresh ``python -c "import cers_core.cli"`` process is asked which of the modules below it has
loaded. Each is something an export never uses (the demo, the app, the web servers, the store, the
bundle reader) or loads only when it gets there (the export and its HTTP layer, the group builder,
CERS's streaming validator); importing one at start-up costs every run of every command (``validate``,
``history``, ``--help``) its import time (``make bench`` times start-up against polars, httpx
and pydantic alone; this test guards the cause without timing anything).
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import ROOT

NOT_AT_START = (
    "streamlit",
    "starlette",
    "uvicorn",
    "cers_demo",
    "cers_app",
    "cers_core.groups",
    "cers_core.cers_csv.validator",
    "cers_core.store",
    "cers_core.oneroster_csv",
    "cers_core.group_sets",
    "cers_core.export",
    "cers_core.http.network",
    "httpcore",
    "asyncio",
)


def loaded_after(imports: str) -> list[str]:
    """The modules a fresh interpreter has loaded once it has run ``import <imports>``."""
    code = f"import json, sys\nimport {imports}\nprint(json.dumps(sorted(sys.modules)))"
    answer = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(answer.stdout)


def test_the_command_line_starts_without_what_an_export_does_not_need():
    loaded = loaded_after("cers_core.cli")
    assert "cers_core.cli" in loaded  # the import did happen in that process
    found = sorted(
        name for name in loaded for module in NOT_AT_START if name == module or name.startswith(f"{module}.")
    )
    assert found == []


def test_an_export_reaches_its_first_request_without_polars():
    """Everything an export runs before its first request (the token) is importable without polars,
    the roster frames and the builder: those load on a thread while the request is on the wire."""
    loaded = loaded_after("cers_core.cli, cers_core.export, cers_core.oneroster.fetch")
    assert "cers_core.oneroster.client" in loaded  # the client that sends it is there
    heavy = ("polars", "cers_core.roster", "cers_core.oneroster.records", "cers_core.schools", "cers_core.groups")
    assert sorted(name for name in loaded if name.split(".")[0] == "polars" or name in heavy) == []
