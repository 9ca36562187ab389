"""Command line: each command parses, calls the library, renders. Nothing else lives here."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from allocator.api import allocate
from allocator.errors import AllocatorError, InputError

app = typer.Typer(
    name="allocator",
    help="Zero-based, fair staffing totals for districts and counties under a fixed cap.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped or redirected output gets a wide, fixed width so that tables are never cut.
console = Console() if sys.stdout.isatty() else Console(width=160)
err_console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=10_000)


@app.callback()
def _root() -> None:
    """Zero-based, fair staffing totals for districts and counties under a fixed cap.

    Example: allocator run models/harbin_2020.toml
    """


def reports_errors(command):
    """Turn an :class:`AllocatorError` into one line on stderr and its exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except AllocatorError as exc:
            # The message quotes user text (file names, cells): never read it as markup, and
            # keep it on one line even when a cell holds a line break.
            text = str(exc).replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")
            err_console.print(f"[bold red]error:[/] {escape(text)}", highlight=False,
                              soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def parse_weights(items: list[str] | None) -> dict[str, float]:
    """``["population=0.5", "area=2"]`` -> ``{"population": 0.5, "area": 2.0}``.

    >>> parse_weights(["population=0.5"])
    {'population': 0.5}
    """
    weights = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not name.strip() or number is None:
            raise InputError(f"--weight {item}: expected NAME=VALUE, e.g. --weight population=0.5")
        if number < 0 or number != number or number in (float("inf"), float("-inf")):
            raise InputError(f"--weight {item}: a weight must be a finite number >= 0")
        weights[name.strip()] = number
    return weights


ModelArg = Annotated[Path, typer.Argument(help="Model file (TOML), e.g. models/harbin_2020.toml.",
                                          show_default=False)]
WeightOpt = Annotated[list[str] | None, typer.Option(
    "--weight", "-w", metavar="NAME=VALUE",
    help="Override one indicator's weight (repeatable); weights are renormalised.")]
CapOpt = Annotated[int | None, typer.Option(help="Override the cap (posts, before reserve).")]
SolverOpt = Annotated[str | None, typer.Option(help="LP solver: highs (default) or cbc.")]
RoundingOpt = Annotated[str | None, typer.Option(
    help="Rounding: hamilton (default), webster, dhondt or huntington-hill.")]


@app.command()
@reports_errors
def run(
    model: ModelArg,
    out: Annotated[Path | None, typer.Option(
        help="Output folder [default: out/<model file stem>].")] = None,
    weight: WeightOpt = None,
    cap: CapOpt = None,
    solver: SolverOpt = None,
    rounding: RoundingOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the table.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace the output folder even if it holds another model's results.")] = False,
) -> None:
    """Allocate the cap fairly and write allocation.csv and run.json.

    Example: allocator run models/harbin_2020.toml --weight area=0.3 --out out/harbin_area30
    """
    from allocator.export import write_result
    from allocator.report import terminal_table

    result = allocate(model, weights=parse_weights(weight), cap=cap, solver=solver,
                      rounding=rounding)
    out_dir = write_result(result, out or Path("out") / model.stem, force=force)
    if not quiet:
        frame = result.frame()
        for column in ("id", "label", "group"):  # cells are user text, never markup
            frame[column] = frame[column].map(lambda v: escape(v) if isinstance(v, str) else v)
        console.print(terminal_table(frame, escape(result.spec.name)))
        lambdas = ", ".join(f"{name or 'all'}: {lam:.4f}" if lam is not None else
                            f"{name or 'all'}: -" for name, lam in result.lambdas.items())
        console.print(f"weights: {', '.join(f'{k} {v:.3f}' for k, v in result.weights.items())}",
                      markup=False)
        console.print(f"lambda (allocation/target of units no bound holds): {lambdas}",
                      markup=False)
        if result.spec.actual_note:
            console.print(f"[yellow]note:[/] {escape(result.spec.actual_note)}")
    console.print(f"wrote {out_dir / 'allocation.csv'} and run.json", highlight=False,
                  markup=False)


@app.command()
@reports_errors
def validate(
    model: ModelArg,
    weight: WeightOpt = None,
    cap: CapOpt = None,
) -> None:
    """Check a model and its data without solving: exit 0, 2 (invalid input) or 3 (infeasible).

    Example: allocator validate models/harbin_2020.toml --cap 58000
    """
    from allocator.validate import validate as validate_model

    result = validate_model(model, weights=parse_weights(weight), cap=cap)
    for line in result.lines():
        console.print(line, highlight=False, soft_wrap=True, markup=False)


@app.command()
@reports_errors
def verify(
    folder: Annotated[Path, typer.Argument(help="Output folder of an earlier run.",
                                           show_default=False)],
    model: Annotated[Path | None, typer.Option(
        help="The model file, if it has moved since the run.")] = None,
) -> None:
    """Re-run the model recorded in FOLDER/run.json and compare: exit 0 if the result matches its
    inputs, 5 if not.

    Example: allocator verify out/harbin_2020
    """
    from allocator.audit import MISMATCH_EXIT_CODE
    from allocator.audit import verify as verify_folder

    report = verify_folder(folder, model=model)
    for line in report.lines():
        console.print(line, highlight=False, soft_wrap=True, markup=False)
    if not report.ok:
        raise typer.Exit(MISMATCH_EXIT_CODE)


def main() -> None:
    """Console-script entry point."""
    app()
