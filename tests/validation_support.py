"""Helpers shared by the validation, infeasibility, output, verify and fuzz tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from allocator.cli import app

BAD_INPUTS = Path(__file__).parent / "bad_inputs"
GOOD_MODEL = '''name = "{name}"
data = "{data}"
id = "code"
label = "name"
group = "type"
actual = "posts"
cap = {cap}

[indicators.population]
column = "population"
weight = 0.7

[indicators.area]
column = "area"
weight = 0.3
'''
GOOD_TABLE = (BAD_INPUTS / "units.csv").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Outcome:
    """What one command-line call did."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None


def run_cli(*args: str | Path) -> Outcome:
    """Run the command line in-process, as a user would from a shell."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return Outcome(result.exit_code, result.stdout, result.stderr, exception)


def write_model(folder: Path, *, name: str = "demo", data: str = "units.csv", cap: int = 400,
                extra: str = "", table: str | None = GOOD_TABLE, stem: str = "model") -> Path:
    """A small valid model (and its table, unless ``table`` is None) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    if table is not None:
        (folder / data).write_text(table, encoding="utf-8")
    path = folder / f"{stem}.toml"
    path.write_text(GOOD_MODEL.format(name=name, data=data, cap=cap) + extra, encoding="utf-8")
    return path


def expectation(case: Path) -> tuple[int, str]:
    """The exit code and message a bad-input case file declares in its first two lines."""
    lines = case.read_text(encoding="utf-8").splitlines()
    exit_code = int(lines[0].removeprefix("# exit:").strip())
    message = lines[1].removeprefix("# message:").strip()
    return exit_code, message.replace("{dir}", str(case.parent))
