"""The layout tells what each room holds: the library never imports its command line, and no
module of ganzoo/ imports, however lazily, one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ganzoo"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The ganzoo modules a file imports anywhere (in functions too), TYPE_CHECKING aside."""
    found: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
                return
            self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            found.update(alias.name for alias in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)

    Visitor().visit(ast.parse(path.read_text(encoding="utf-8")))
    return {name for name in found if name in known}


#: imports made only when a function runs, which close a cycle on purpose: the Generator
#: interface's from_pretrained (Hugging Face's ClassName.from_pretrained convention) calls the
#: export loader, which builds generators through the registry and so depends on the interfaces
CALL_TIME_ONLY = {("ganzoo.interfaces", "ganzoo.exports")}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    return {name: imports_of(path, known) - {name, "ganzoo"}
            - {b for a, b in CALL_TIME_ONLY if a == name} for name, path in files.items()}


def test_the_library_does_not_import_the_command_line():
    for name, imported in import_graph().items():
        if name.startswith("ganzoo.commands") or name in ("ganzoo.cli", "ganzoo.__main__"):
            continue
        assert not {m for m in imported if m.startswith("ganzoo.commands") or m == "ganzoo.cli"}, \
            f"{name} imports the command line"


def test_there_is_no_import_cycle_in_the_package():
    graph, state, cycles = import_graph(), {}, []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for other in sorted(graph[module]):
            if state.get(other) == "open":
                cycles.append(" -> ".join([*path[path.index(other):], other]))
            elif other not in state:
                visit(other, [*path, other])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)
