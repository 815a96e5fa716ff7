"""Every example in the README and docs/ runs: schemas validate, errors read as documented."""

from __future__ import annotations

import json
import shlex
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from docsupport import KNOWN, ROOT, code_blocks, doc_files

from configurator import optionschema
from configurator.cli import cli
from configurator.compiler import CompiledSchema
from configurator.demo import demo_schema

FILES = doc_files()


def blocks_with_expected(path: Path, info: str) -> list[tuple[str, list[str]]]:
    """Each `info` block with the lines of the `text` block that follows it."""
    blocks = code_blocks(path)
    found = []
    for (kind, body), following in zip(blocks, [*blocks[1:], ("", "")], strict=True):
        if kind == info:
            assert following[0] == "text", (
                f"{path.name}: a {info} block needs a text block after it"
            )
            found.append((body, [line for line in following[1].splitlines() if line.strip()]))
    return found


def test_manual_has_a_page_per_kind_of_user():
    names = {p.name for p in FILES}
    assert {"organiser.md", "attendee.md", "staff.md", "formats.md"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_fenced_block_is_of_a_known_kind(path):
    for info, _ in code_blocks(path):
        assert info in KNOWN, f"{path.name}: unknown code block kind {info!r}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_option_schema_examples_are_valid(path):
    for info, body in code_blocks(path):
        if info == "json option-schema":
            assert optionschema.problems_in(json.loads(body)) == []
        elif info == "yaml option-schema":
            assert optionschema.problems_in(yaml.safe_load(body)) == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_invalid_schema_examples_give_their_documented_messages(path):
    for body, expected in blocks_with_expected(path, "json option-schema-invalid"):
        got = [
            f"{p.pointer} | {p.path} | {p.message}"
            for p in optionschema.problems_in(json.loads(body))
        ]
        assert got == expected


def example_compiled() -> CompiledSchema:
    return CompiledSchema(demo_schema(date.today()))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_design_examples_pass(path):
    compiled = example_compiled()
    for info, body in code_blocks(path):
        if info == "json design":
            report = compiled.check(json.loads(body), complete=True)
            assert report.errors == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_invalid_design_examples_give_their_documented_messages(path):
    compiled = example_compiled()
    for body, expected in blocks_with_expected(path, "json design-invalid"):
        report = compiled.check(json.loads(body), complete=True)
        assert [f"{p.pointer} | {p.path} | {p.message}" for p in report.errors] == expected


def test_example_schemas_validate():
    examples = sorted((ROOT / "schemas" / "examples").glob("*.json"))
    assert examples
    for path in examples:
        assert optionschema.problems_in(json.loads(path.read_text())) == [], path.name


def test_meta_schema_is_a_valid_draft_2020_12_schema():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(optionschema.meta_schema())


def test_readme_commands_run(tmp_path, monkeypatch):
    """The README's `configurator` examples run in order against a fresh database."""
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    ran = 0
    for _info, body in code_blocks(ROOT / "README.md", "console"):
        for line in body.splitlines():
            if not line.startswith("$ configurator ") or " serve" in line:
                continue
            args = shlex.split(line.removeprefix("$ configurator "))
            result = runner.invoke(cli, ["--db", str(tmp_path / "readme.db"), *args])
            assert result.exit_code == 0, f"{line}\n{result.output}"
            ran += 1
    assert ran >= 4


@pytest.mark.parametrize("page", ["benchmarks.md", "reliability.md"])
def test_bench_commands_name_real_scripts_and_options(page):
    """Each documented bench command runs a script in bench/ with options that script takes."""
    commands = [
        shlex.split(line)
        for _info, body in code_blocks(ROOT / "docs" / page, "sh bench")
        for line in body.splitlines()
        if line.strip()
    ]
    assert commands, f"docs/{page} documents no bench command"
    for words in commands:
        python = words.index(".venv/bin/python")
        script = ROOT / words[python + 1]
        assert script.parent.name == "bench" and script.is_file(), words
        source = script.read_text()
        for option in (w.split("=")[0] for w in words[python + 2 :] if w.startswith("--")):
            assert f'"{option}"' in source, f"{script.name} takes no {option}"


def test_every_command_is_named_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in cli.commands if f"`{name}" not in readme]
    assert missing == []
