"""The layers of the project, enforced (issue 14).

Bottom to top: the foundation (`auriko_conformance.contract`: loading `openapi.yaml`; `.paths`: where
the data files are; `.servers` and `.http_guard`: serving an ASGI app safely; `.sse`: the one
Server-Sent Events reader); the programs built on it (`mocks`, `reference_impl`, which never import
each other); the embedded target made of both (`auriko_conformance.embedded`); the suites (`suites`:
exchange views, checks, results, report, fuzzing); the tools and the command line
(`auriko_conformance.cli`, `.fuzz`, `.mutants`, `bench`). A module may import its own layer and
the layers below it, never one above. A first-party import inside a function usually hides a cycle
between layers, so there are none in product code.

Fuzzing sits in the suites' layer (`suites/fuzzing/`: configuration, schemathesis hooks and checks,
results, their merge into the report, which imports it and never the other way round); its command
line (`auriko_conformance/fuzz.py`) sits on top.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("auriko_conformance", "mocks", "reference_impl", "suites", "bench")
FIRST_PARTY = ("auriko_conformance", "mocks", "reference_impl", "suites", "bench")

#: layer of a dotted module name (after mapping the checkout's folders into the one namespace)
LAYERS: tuple[tuple[str, int], ...] = (
    ("auriko_conformance.contract", 0),
    ("auriko_conformance.paths", 0),
    ("auriko_conformance.servers", 0),
    ("auriko_conformance.http_guard", 0),
    ("auriko_conformance.sse", 0),
    ("auriko_conformance.mocks", 1),
    ("auriko_conformance.reference_impl", 1),
    ("auriko_conformance.embedded", 2),
    ("auriko_conformance.suites", 3),
    ("auriko_conformance", 4),
    ("bench", 4),
)
SIBLINGS_APART = ("auriko_conformance.mocks", "auriko_conformance.reference_impl")


def offence(path: Path, node: ast.stmt, text: str) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno} {text}"


def layer_offences() -> list[str]:
    found = []
    for path in product_files():
        here = module_name(path)
        mine, my_prefix = layer(here)
        for node, module, _ in imports(ast.parse(path.read_text(), str(path))):
            if not first_party(module):
                continue
            theirs, their_prefix = layer(module)
            if theirs > mine or (
                my_prefix in SIBLINGS_APART and their_prefix in SIBLINGS_APART and my_prefix != their_prefix
            ):
                found.append(offence(path, node, f"imports {module}"))
    return found


def inner_import_offences() -> list[str]:
    return [
        offence(path, node, f"imports {module} inside a function")
        for path in product_files()
        for node, module, inside in imports(ast.parse(path.read_text(), str(path)))
        if inside and first_party(module)
    ]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] in ("mocks", "reference_impl", "suites"):
        parts.insert(0, "auriko_conformance")
    return ".".join(parts)


def layer(module: str) -> tuple[int, str]:
    for prefix, level in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return level, prefix
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def product_files() -> Iterator[Path]:
    for top in PRODUCT:
        yield from sorted((ROOT / top).rglob("*.py"))


def imports(tree: ast.AST) -> Iterator[tuple[ast.stmt, str, bool]]:
    """(node, imported module, inside a function) for every import statement."""

    def visit(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.stmt, str, bool]]:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield child, alias.name, in_function
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                if child.module == "auriko_conformance":
                    for alias in child.names:
                        yield child, f"auriko_conformance.{alias.name}", in_function
                else:
                    yield child, child.module, in_function
            yield from visit(child, inner)

    yield from visit(tree, False)


def first_party(module: str) -> bool:
    return module.split(".")[0] in FIRST_PARTY


def test_no_old_top_level_names() -> None:
    """The installed wheel has one import name; code that imports `suites` directly would only work
    in a checkout (and would load a second copy of every module there)."""
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno} imports {module}"
        for path in [*product_files(), *sorted((ROOT / "tests").rglob("*.py"))]
        for node, module, _ in imports(ast.parse(path.read_text(), str(path)))
        if module.split(".")[0] in ("suites", "mocks", "reference_impl")
    ]
    assert not offenders, "\n".join(offenders)


def test_lower_layers_never_import_higher_ones() -> None:
    offenders = layer_offences()
    assert not offenders, "\n".join(offenders)


def test_no_first_party_import_inside_a_function() -> None:
    offenders = inner_import_offences()
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from auriko_conformance.suites import plugin\n", "lower layers never import higher ones"),
        ("def f():\n    from auriko_conformance.contract import load\n", "no first-party import inside"),
    ],
)
def test_the_rules_can_fail(source: str, expected: str) -> None:
    """The walker sees both kinds of offence (a rule that cannot fail proves nothing)."""
    found = list(imports(ast.parse(source)))
    assert found, expected
    module, inside = found[0][1], found[0][2]
    if "inside" in expected:
        assert inside
        assert first_party(module)
    else:
        assert layer(module)[0] > layer("auriko_conformance.mocks.app")[0]


# --------------------------------------------------------------------------------------------------
# docs/architecture.md: every file:function hop it names exists
# --------------------------------------------------------------------------------------------------

ARCHITECTURE = ROOT / "docs" / "architecture.md"
#: `path/to/file.py:Name` or `path/to/file.py:Class.method`, in backticks
HOP = re.compile(r"`((?:[\w.-]+/)*[\w.-]+\.py):(\w+(?:\.\w+)?)`")
#: `Class.method` on its own: a hop in a file the text has already named
SHORT_HOP = re.compile(r"`([A-Z]\w+\.\w+)`")


def defined_names(path: Path) -> set[str]:
    """`name` and `Class.name` for every function, class and module-level assignment of a file."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}.{item.name}")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def missing_hops(text: str) -> list[str]:
    missing: list[str] = []
    named: dict[str, set[str]] = {}
    for file, name in HOP.findall(text):
        path = ROOT / file
        if not path.exists():
            missing.append(f"{file}: no such file")
            continue
        named.setdefault(file, defined_names(path))
        if name not in named[file]:
            missing.append(f"{file}:{name}")
    every = set().union(*named.values()) if named else set()
    missing += [name for name in SHORT_HOP.findall(text) if "." in name and name not in every]
    return missing


def test_the_architecture_hops_exist() -> None:
    """The data paths in docs/architecture.md are lists of file:function hops: a renamed function or
    a moved file makes the page lie, so each hop is looked up."""
    text = ARCHITECTURE.read_text()
    assert len(HOP.findall(text)) > 30  # the two paths are written as hops
    assert not missing_hops(text), missing_hops(text)


def test_a_hop_that_does_not_exist_is_found() -> None:
    bad = "`suites/report.py:no_such_function` then `Exchange.no_such_view` and `nowhere/x.py:f`"
    assert missing_hops(bad) == [
        "suites/report.py:no_such_function",
        "nowhere/x.py: no such file",
        "Exchange.no_such_view",
    ]
