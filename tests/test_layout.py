"""The tree reads like the README's table: the web layer apart, domain modules free of it, no circles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "configurator"
# Edges of the app rather than domain: the app factory and the command line may reach the web layer.
EDGES = {"configurator", "configurator.__main__", "configurator.cli"}
REQUEST_STATE = {"request", "g", "session"}
MAX_LINES = 700


def module_name(path: Path) -> str:
    """configurator/web/api/designs.py -> configurator.web.api.designs."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Every module of the package by its dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path, source: str | None = None) -> list[tuple[str, str | None]]:
    """(module, imported name or None) for every import in a module, relative ones resolved."""
    tree = ast.parse(source if source is not None else path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found += [(base, alias.name) for alias in node.names]
    return found


def web_leaks(name: str, path: Path, source: str | None = None) -> list[str]:
    """What a domain module imports that belongs to the web layer."""
    leaks = []
    for module, what in imported(name, path, source):
        target = f"{module}.{what}" if what else module
        if module == "flask" and what in REQUEST_STATE:
            leaks.append(f"flask.{what}")
        elif target.startswith("configurator.web") or module.startswith("configurator.web"):
            leaks.append(target)
        elif module.split(".")[0] in ("flask_htmx", "flask_wtf"):
            leaks.append(module)
    return leaks


def is_domain(name: str) -> bool:
    """Everything outside configurator.web and the app's edges is domain."""
    return not name.startswith("configurator.web") and name not in EDGES


def test_no_domain_module_reaches_into_the_web_layer():
    found = {
        name: leaks
        for name, path in modules().items()
        if is_domain(name) and (leaks := web_leaks(name, path))
    }
    assert found == {}


@pytest.mark.parametrize(
    ("source", "leak"),
    [
        ("from flask import request\n", "flask.request"),
        ("from flask import current_app, g\n", "flask.g"),
        ("from flask import session as s\n", "flask.session"),
        ("from .web.rendering import render\n", "configurator.web.rendering.render"),
        ("from . import web\n", "configurator.web"),
        ("import flask_htmx\n", "flask_htmx"),
    ],
)
def test_the_check_catches_a_domain_module_that_imports_request_state(source, leak):
    path = PACKAGE / "designs.py"
    assert web_leaks("configurator.designs", path, source) == [leak]
    assert web_leaks("configurator.designs", path, "from .errors import Problem\n") == []


def import_edges() -> dict[str, set[str]]:
    """Which package modules each module imports, at load time or lazily inside a function."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets: set[str] = set()
        for module, what in imported(name, path):
            if what and f"{module}.{what}" in known:
                targets.add(f"{module}.{what}")
            elif module in known:
                targets.add(module)
        edges[name] = targets - {name}
    return edges


def circles(edges: dict[str, set[str]]) -> list[str]:
    """Every import circle found by a depth-first walk, as a -> b -> a."""
    found: list[str] = []
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> None:
        if node in trail:
            found.append(" -> ".join([*trail[trail.index(node) :], node]))
            return
        if node in done:
            return
        for nxt in sorted(edges.get(node, ())):
            visit(nxt, [*trail, node])
        done.add(node)

    for start in sorted(edges):
        visit(start, [])
    return found


def test_no_import_circle():
    edges = import_edges()
    assert "configurator.web.error_handlers" in edges["configurator.web.api.designs"]
    assert circles(edges) == []


def test_the_circle_check_finds_one():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a -> b -> c -> a"]


def test_no_module_is_too_long_to_have_one_job():
    long = {
        name: n
        for name, path in modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_module_is_named_like_its_neighbour_with_an_s():
    clashes = []
    for folder in {p.parent for p in PACKAGE.rglob("*.py")}:
        names = {p.stem for p in folder.glob("*.py")}
        clashes += [f"{folder.name}/{n} and {n}s" for n in names if n + "s" in names]
    assert clashes == []


def test_every_blueprint_lives_in_the_web_package():
    outside = [
        name
        for name, path in modules().items()
        if is_domain(name) and "Blueprint(" in path.read_text()
    ]
    assert outside == []


def readme_table() -> list[tuple[str, str]]:
    """The rows of the README's "What is where" table, as (path cell, what cell)."""
    text = (PACKAGE.parent / "README.md").read_text()
    section = text.split("## What is where", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| `")]
    return [(cells[0].removeprefix("| "), cells[1].removesuffix(" |")) for cells in rows]


def test_the_readme_table_names_every_module_and_nothing_that_is_not_there():
    table = readme_table()
    named = " ".join(path for path, _what in table)
    web = next(what for path, what in table if path == "`configurator/web/`")
    missing = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name != "__main__.py" and f"`{path.name}`" not in named and (
            f"`configurator/{path.name}`" not in named
        ):
            missing.append(path.name)
    for folder in sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()):
        if f"`configurator/{folder.name}/`" not in named:
            missing.append(folder.name + "/")
    for path in sorted((PACKAGE / "web").glob("*.py")):
        if path.stem != "__init__" and f"`{path.stem}`" not in web:
            missing.append("web/" + path.name)
    assert missing == []
    for path, _what in table:
        first = path.split("`")[1]
        assert (PACKAGE.parent / first).exists(), first
