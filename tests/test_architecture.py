"""The three packages' doors: what each may import, read from the code itself.

- ``cers_core`` is plain: importing any of its modules loads no Streamlit and no web server;
- no import from ``cers_core`` into ``cers_app`` or ``cers_demo``, save the command line's
  demo commands, which load ``cers_demo`` inside the function that runs one (``DEMO_COMMANDS``);
- no import circle among the project's modules, counting every import statement (those inside
  functions and under ``TYPE_CHECKING`` too): a circle is a knot a maintainer has to untie first.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.support import ROOT

PACKAGES = ("cers_core", "cers_app", "cers_demo")
WEB_SERVERS = ("streamlit", "starlette", "uvicorn")
# The one place cers_core may reach into another of our packages: the demo commands, loaded when run.
LAZY_DEMO_IMPORTS = {("cers_core.cli", "cers_demo.commands")}


def _module_files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            files[name] = path
    return files


MODULES = _module_files()


def _target(name: str) -> str | None:
    """The project module an imported name is: the module itself, else its package."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str) -> Iterator[tuple[str, bool]]:
    """The project modules ``module`` imports, each with whether the import is at the top level."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    top_level |= {
        id(inner) for node in tree.body if isinstance(node, ast.If) for inner in ast.walk(node)
    }  # TYPE_CHECKING blocks count as the module's own imports
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from package import submodule" imports the submodule.
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _target(name)
            if target is not None and target != module:
                yield target, id(node) in top_level


def _graph() -> dict[str, set[str]]:
    return {module: {target for target, _ in _imports(module)} for module in MODULES}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_there_is_no_import_circle():
    assert _circles(_graph()) == []


def test_cers_core_imports_neither_the_app_nor_the_demo():
    reaching_out = {
        (module, target)
        for module in MODULES
        if module.split(".")[0] == "cers_core"
        for target, _ in _imports(module)
        if target.split(".")[0] != "cers_core"
    }
    assert reaching_out <= LAZY_DEMO_IMPORTS
    for module, target in LAZY_DEMO_IMPORTS:
        assert all(not top for found, top in _imports(module) if found == target), f"{module} must load {target} lazily"


def test_importing_any_core_module_loads_no_web_server():
    """In a fresh interpreter, as a script or a scheduler would: every module of cers_core, then sys.modules."""
    core = [name for name in MODULES if name.split(".")[0] == "cers_core" and not name.endswith("__main__")]
    script = (
        "import importlib, json, sys\n"
        f"for name in {core!r}: importlib.import_module(name)\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(WEB_SERVERS)!r})))"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert json.loads(found) == []
    assert len(core) > 30  # every module was imported, not an empty list


def test_every_public_name_of_cers_core_is_where_it_says():
    import cers_core

    assert sorted(cers_core._MODULE_OF) == sorted(cers_core.__all__)
    for name in cers_core.__all__:
        assert getattr(cers_core, name).__name__ == name
