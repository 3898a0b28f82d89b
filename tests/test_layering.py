"""The house rules on imports: floors only look down, and no module-level import cycles."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules(package: str) -> dict[str, Path]:
    out = {}
    for path in (ROOT / package).rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(path: Path, top_level_only: bool, modules: frozenset[str] = frozenset()) -> set[str]:
    """Absolute imports of a file; ``from pkg import sub`` counts as importing ``pkg.sub`` when that
    is one of ``modules`` (a submodule), else as importing ``pkg`` itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{a.name}" for a in node.names}
            found.update(subs & modules)
            if subs - modules:
                found.add(node.module)
    return found


@pytest.mark.parametrize("package, forbidden", [
    ("onethinker", ("gradio", "components", "train")),
    ("train", ("gradio", "components")),
])
def test_lower_floors_never_import_upper_ones(package, forbidden):
    offenders = [
        f"{name} imports {imp}"
        for name, path in _modules(package).items()
        for imp in _imports(path, top_level_only=False)
        if imp.split(".")[0] in forbidden
    ]
    assert offenders == []


def test_no_module_level_import_cycles_in_the_core():
    """A module must never be imported again, by name, while it is still initialising.

    Importing a submodule first runs its package's ``__init__`` (which may import the submodule
    itself); the walk below follows that order, so only real cycles are reported.
    """
    mods = _modules("onethinker")
    explicit: dict[str, set[str]] = {}
    implicit: dict[str, set[str]] = {}
    for name, path in mods.items():
        explicit[name] = {i for i in _imports(path, True, frozenset(mods)) if i in mods and i != name}
        parent = name.rsplit(".", 1)[0]
        implicit[name] = {parent} if parent != name and parent in mods else set()
    def import_first(entry: str) -> None:
        """Walk the imports of a fresh interpreter whose first import is ``entry``."""
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(n: str) -> None:  # as Python does: a package's __init__ runs before its submodule
            for parent in implicit[n]:
                if parent not in state:
                    visit(parent)
            if n in state:  # the package's __init__ already imported it
                return
            state[n] = 1
            stack.append(n)
            for d in sorted(explicit[n]):
                if state.get(d) == 1:
                    raise AssertionError(f"import {entry}: cycle " + " -> ".join(stack[stack.index(d):] + [d]))
                if d not in state:
                    visit(d)
            stack.pop()
            state[n] = 2

        visit(entry)

    for entry in sorted(explicit):
        import_first(entry)


@pytest.mark.parametrize("module", ["onethinker.tasks", "onethinker.payloads", "onethinker.answer",
                                    "onethinker.rewards", "onethinker.coords", "onethinker.engine.request"])
def test_core_modules_import_on_their_own(module):
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=ROOT)
