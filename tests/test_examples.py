"""Every example runs: each ``Example:`` in every command's ``--help`` (also shown in docs/cli.md)
and every ``allocator`` command in the command blocks of README.md and docs/*.md, each in a fresh
folder holding a copy of the repository's models/, data/ and docs/examples/, with exit code 0."""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from allocator.cli import app

from .support import ROOT, run_cli
from .test_docs import gen

# Generated pages are left out: docs/cli.md shows the help examples (run from the help) and the
# usage lines, which are not examples.
PAGES = [ROOT / "README.md", *(p for p in sorted((ROOT / "docs").glob("*.md"))
                               if f"docs/{p.name}" not in gen.PAGES)]
SHELL = ("", "bash", "sh", "shell", "console")  # the languages of command blocks


def command_blocks(text: str) -> list[list[str]]:
    """The lines of each fenced block of shell commands (no language, or a shell's)."""
    blocks, current, language = [], None, ""
    for line in text.splitlines():
        if line.startswith("```"):
            if current is None:
                current, language = [], line[3:].strip()
            else:
                if language in SHELL:
                    blocks.append(current)
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def help_examples() -> list[tuple[str, str]]:
    """(command, example) for every example of every command's help."""
    root, ctx = gen.cli_root()
    found = [("allocator", e) for e in gen.help_blocks(root.help)[1]]
    for path, command, _ in gen.walk_commands(root, ctx, "allocator"):
        found += [(path, example) for example in gen.help_blocks(command.help)[1]]
    return found


def page_commands() -> list[tuple[str, str]]:
    """(page, command) for every ``allocator`` command in a command block (``a && b`` gives b)."""
    found = []
    for page in PAGES:
        for block in command_blocks(page.read_text(encoding="utf-8")):
            for line in block:
                for part in line.removeprefix("$ ").split(" && "):
                    if part.strip().startswith("allocator "):
                        found.append((page.name, part.strip()))
    return found


def test_examples_are_found_everywhere():
    helps = help_examples()
    assert {path for path, _ in helps} >= {f"allocator {c.callback.__name__}"
                                           for c in app.registered_commands}
    pages = {page for page, _ in page_commands()}
    assert {"README.md", "sensitivity.md", "reports.md", "weights.md", "transition.md",
            "outputs.md", "model-guide.md"} <= pages


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch) -> Path:
    for folder in ("models", "data", "docs/examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_example(command: str) -> None:
    args = shlex.split(command)
    assert args[0] == "allocator", command
    assert not any(re.fullmatch(r"[A-Z]+|\[.*|.*\]|.*\|.*", a) for a in args[1:]), \
        f"not a runnable example (placeholders): {command}"
    if args[1] == "verify":  # needs the run it verifies
        folder = Path(args[2])
        stem = folder.name.partition("@")[0]
        ran = run_cli("run", f"models/{stem}.toml", "-q", "--out", str(folder))
        assert ran.exit_code == 0, ran.output
    if args[1] == "explore":  # a server: it must start, print its address and stop on Ctrl-C
        _run_server(command, args)
        return
    ran = run_cli(*args[1:])
    assert ran.exit_code == 0, f"{command}\n{ran.output}"


def _run_server(command: str, args: list[str]) -> None:
    if "--no-browser" not in args:
        args = [*args, "--no-browser"]
    process = subprocess.Popen([sys.executable, "-c", "from allocator.cli import main; main()",
                                *args[1:]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        seen = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            seen.append(line)
            if "http://127.0.0.1:" in line or not line:
                break
        assert "http://127.0.0.1:" in seen[-1], f"{command}\n{''.join(seen)}"
        url = seen[-1][seen[-1].index("http://"):].split()[0]
        with urllib.request.urlopen(url, timeout=30) as page:  # serving, signals handled
            assert page.status == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0, command
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize(("where", "command"), help_examples())
def test_help_example_runs(workspace, where, command):
    run_example(command)


@pytest.mark.parametrize(("where", "command"), page_commands())
def test_docs_example_runs(workspace, where, command):
    run_example(command)


def test_a_placeholder_is_not_an_example():
    with pytest.raises(AssertionError, match="placeholders"):
        run_example("allocator run MODEL [--out DIR]")
