"""The library's import graph: no cycles, and no module importing the package it belongs to.

Module-level imports only: what a module needs when it is imported. A cycle
there breaks at import time in whichever order the modules load first; a
submodule importing its own package's __init__ is a cycle in waiting.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parents[1] / "workflow" / "scripts"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (SCRIPTS / "alnus").rglob("*.py"):
        name = ".".join(path.relative_to(SCRIPTS).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    return modules


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The alnus modules `path` imports at module level (a name imported from a
    package counts as its submodule where one has that name)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "alnus":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "alnus"}
    return found


MODULES = _modules()
GRAPH = {name: _imports(path, MODULES) & set(MODULES) for name, path in MODULES.items()}


def test_no_import_cycles():
    state, stack, cycles = {}, [], []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
    assert cycles == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.count(".") >= 2))
def test_a_subpackage_module_does_not_import_its_own_package(module):
    package = module.rsplit(".", 1)[0]
    assert package not in GRAPH[module], f"{module} imports {package}: import the submodule it needs instead"
