"""Command line: each command parses, calls the library, renders. Nothing else lives here."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from allocator.errors import AllocatorError, InputError
from allocator.pipeline.allocate import allocate

app = typer.Typer(
    name="allocator",
    help="Zero-based, fair staffing totals for districts and counties under a fixed cap.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Everything printed holds user text (names, cells, notes), so no console ever reads markup;
# styles are given with ``style=``. Piped output gets a wide, fixed width so tables are not cut.
console = Console(markup=False, highlight=False, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, markup=False, highlight=False,
                      width=None if sys.stderr.isatty() else 10_000)


def note(text: str) -> None:
    """Print a note line (e.g. that the comparison figures are illustrative)."""
    console.print(f"note: {text}", style="yellow", soft_wrap=True)


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
            # Keep the message on one line even when a quoted cell holds a line break.
            text = str(exc).replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")
            err_console.print(f"error: {text}", style="bold red", soft_wrap=True)
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
ForceOpt = Annotated[bool, typer.Option(
    "--force", help="Replace the output folder even if it holds another model's results or "
                    "other files.")]


@app.command()
@reports_errors
def run(
    model: ModelArg,
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: out/<model file stem>).")] = None,
    weight: WeightOpt = None,
    cap: CapOpt = None,
    solver: SolverOpt = None,
    rounding: RoundingOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the table.")] = False,
    force: ForceOpt = False,
) -> None:
    """Allocate the cap fairly and write allocation.csv and run.json.

    Example: allocator run models/harbin_2020.toml --weight area=0.3 --out out/harbin_area30
    """
    from allocator.outputs.runfiles import write_result
    from allocator.report.build import terminal_table

    result = allocate(model, weights=parse_weights(weight), cap=cap, solver=solver,
                      rounding=rounding)
    out_dir = write_result(result, out or Path("out") / model.stem, force=force)
    if not quiet:
        console.print(terminal_table(result.frame(), result.spec.name))
        lambdas = ", ".join(f"{name or 'all'}: {lam:.4f}" if lam is not None else
                            f"{name or 'all'}: -" for name, lam in result.lambdas.items())
        console.print(f"weights: {', '.join(f'{k} {v:.3f}' for k, v in result.weights.items())}")
        console.print(f"lambda (allocation/target of units no bound holds): {lambdas}")
        if result.spec.actual_note:
            note(result.spec.actual_note)
    console.print(f"wrote {out_dir / 'allocation.csv'} and run.json")


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
    from allocator.pipeline.validate import validate as validate_model

    result = validate_model(model, weights=parse_weights(weight), cap=cap)
    for line in result.lines():
        console.print(line, soft_wrap=True)


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
    from allocator.outputs.audit import MISMATCH_EXIT_CODE
    from allocator.outputs.audit import verify as verify_folder

    report = verify_folder(folder, model=model)
    for line in report.lines():
        console.print(line, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(MISMATCH_EXIT_CODE)


@app.command()
@reports_errors
def report(
    model: ModelArg,
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: out/<model file stem>_report).")] = None,
    formats: Annotated[str | None, typer.Option(
        "--format", "-f", metavar="FORMATS",
        help="Comma-separated: csv,xlsx,docx,md,tex,html,png,svg (default: all).")] = None,
    lang: Annotated[str, typer.Option(help="Language of headers and labels: zh or en.")] = "zh",
    explain: Annotated[str | None, typer.Option(
        metavar="UNIT", help="Unit id or name: print its breakdown and draw its waterfall.")] = None,
    weight: WeightOpt = None,
    force: ForceOpt = False,
) -> None:
    """Write comparison, summary, explanation and inputs tables and charts for planning documents.

    Example: allocator report models/harbin_2020.toml --format xlsx,docx --lang zh --explain 230108
    """
    from allocator.report.build import (
        ReportOptions,
        breakdown_table,
        parse_formats,
        rich_table,
        write_report,
    )

    options = ReportOptions(formats=parse_formats(formats), lang=lang, explain=explain,
                            weights=parse_weights(weight))
    output = write_report(model, out or Path("out") / f"{model.stem}_report", options,
                          force=force)
    console.print(rich_table(output.report.table("summary"), lang))
    if output.explained is not None:
        console.print(breakdown_table(output.report, output.explained, lang))
    for text in output.notes:
        note(text)
    if output.result.spec.actual_note:
        note(output.result.spec.actual_note)
    console.print(f"wrote {output.out_dir}: {', '.join(output.files)}")


def _frame_table(frame, title: str, caption: str | None = None):
    """A rich table of a small DataFrame: numbers right-aligned with thousands separators."""
    from rich.table import Table

    table = Table(title=title, caption=caption)
    numeric = {c: frame[c].dtype.kind in "iuf" for c in frame.columns}
    for column in frame.columns:
        table.add_column(str(column), justify="right" if numeric[column] else "left")
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            if not numeric[column]:
                cells.append("" if value is None else str(value))
            elif value != value:
                cells.append("")
            elif frame[column].dtype.kind in "iu" or abs(value) >= 100:
                cells.append(f"{value:,.0f}")
            else:
                cells.append(f"{value:,.3f}")
        table.add_row(*cells)
    return table


def _progress_callback(stack):
    """A rich progress bar on stderr for long studies; returns the callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    if not err_console.is_terminal:  # no bar in logs or pipes
        return None
    progress = stack.enter_context(Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=err_console, transient=True))
    task = progress.add_task("scenarios", total=None)
    return lambda done, total: progress.update(task, completed=done, total=total)


@app.command()
@reports_errors
def sensitivity(
    model: ModelArg,
    method: Annotated[str, typer.Option(help="sweep | oat | montecarlo.")] = "montecarlo",
    indicator: Annotated[str | None, typer.Option(help="sweep: the indicator whose weight moves.")
                         ] = None,
    start: Annotated[float, typer.Option("--from", help="sweep: first weight value.")] = 0.0,
    stop: Annotated[float, typer.Option("--to", help="sweep: last weight value.")] = 1.0,
    steps: Annotated[int, typer.Option(help="sweep: number of weight values.")] = 11,
    delta: Annotated[float, typer.Option(help="oat: move each weight down and up by this.")
                     ] = 0.05,
    samples: Annotated[int, typer.Option(help="montecarlo: number of weight scenarios.")] = 1000,
    concentration: Annotated[float, typer.Option(
        help="montecarlo: Dirichlet concentration K (alpha = K * weights); larger = closer to "
             "the model's weights.")] = 50.0,
    uniform: Annotated[bool, typer.Option(
        "--uniform", help="montecarlo: sample uniformly on the whole simplex instead.")] = False,
    seed: Annotated[int, typer.Option(help="montecarlo: random seed.")] = 0,
    confidence: Annotated[float, typer.Option(
        help="montecarlo: share of scenarios that must agree for an over/under verdict.")] = 0.95,
    jobs: Annotated[int, typer.Option(help="montecarlo: parallel processes (-1 = all cores); "
                                           "results do not depend on it.")] = 1,
    save_samples: Annotated[bool, typer.Option(
        "--save-samples", help="montecarlo: also write montecarlo_samples.csv, one row per "
                               "scenario.")] = False,
    rounding: RoundingOpt = None,
    top: Annotated[int, typer.Option(help="Units (or unit-indicator pairs) shown in the "
                                          "table and charts.")] = 15,
    charts: Annotated[bool, typer.Option(help="Write PNG charts.")] = True,
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: out/<model file stem>_sensitivity_<method>).")] = None,
    force: ForceOpt = False,
) -> None:
    """How the allocation depends on the indicator weights: sweep, one-at-a-time, Monte Carlo.

    Example: allocator sensitivity models/harbin_2020.toml --samples 10000 --save-samples

    Example: allocator sensitivity models/harbin_2020.toml --method sweep --indicator area --to 0.6
    """
    import contextlib

    from allocator.report.studies import SensitivityOptions, run_study
    from allocator.studies.montecarlo import MonteCarloOptions

    options = SensitivityOptions(
        method=method, indicator=indicator, start=start, stop=stop, steps=steps, delta=delta,
        montecarlo=MonteCarloOptions(samples=samples, concentration=concentration,
                                     uniform=uniform, seed=seed, confidence=confidence, jobs=jobs),
        save_samples=save_samples, rounding=rounding, charts=charts, top=top)
    out_dir = out or Path("out") / f"{model.stem}_sensitivity_{method}"
    with contextlib.ExitStack() as stack:
        progress = _progress_callback(stack) if method == "montecarlo" else None
        study = run_study(model, options, out_dir, progress=progress, force=force)
    _render_study(study, top)
    console.print(f"wrote {', '.join(study.files)} to {study.out_dir}")


def _render_study(study, top: int) -> None:
    from allocator.studies.montecarlo import MonteCarloResult
    from allocator.studies.oneway import OatResult, SweepResult

    result = study.result
    if isinstance(result, SweepResult):
        wide = result.wide(top)
        caption = None if len(wide) == len(result.units) else \
            f"the {len(wide)} of {len(result.units):,} units that move most; all in sweep.csv"
        console.print(_frame_table(wide, f"posts by weight of '{result.indicator}'", caption))
    elif isinstance(result, OatResult):
        frame = result.largest(top)[["indicator", "id", "label", "base", "change_down",
                                     "change_up"]]
        console.print(_frame_table(frame, f"largest swings, one weight at a time ± "
                                          f"{result.delta:g}"))
    elif isinstance(result, MonteCarloResult):
        summary = result.summary
        columns = [c for c in ("id", "label", "base", "alloc_p5", "alloc_p50", "alloc_p95",
                               "actual", "share_below_actual", "verdict", "rank_min", "rank_max")
                   if c in summary and summary[c].notna().any()]
        frame = summary[columns]
        caption = None
        if len(frame) > max(top, 60):
            width = summary["alloc_p95"] - summary["alloc_p5"]
            frame = frame.loc[width.sort_values(ascending=False, kind="stable").index[:top]]
            caption = f"the {top} of {len(summary):,} units with the widest p5-p95 band"
        console.print(_frame_table(frame, f"{result.options.samples:,} weight scenarios", caption))
        if "verdict" in summary:
            counts = summary["verdict"].value_counts()
            console.print(f"verdict at {result.options.confidence:.0%} of scenarios "
                          "(over = current posts above the allocation): "
                          + ", ".join(f"{k} {counts.get(k, 0)}" for k in ("over", "under",
                                                                          "depends")))


@app.command()
@reports_errors
def weights(
    model: ModelArg,
    method: Annotated[str, typer.Option(help="equal | entropy | critic | ahp.")] = "entropy",
    matrix: Annotated[Path | None, typer.Option(
        help="ahp: pairwise-comparison matrix (CSV/XLSX; indicator names in the first column "
             "and the header; cells like 3 or 1/3).")] = None,
    accept_inconsistent: Annotated[bool, typer.Option(
        "--accept-inconsistent", help="ahp: accept a consistency ratio above 0.1.")] = False,
    samples: Annotated[int, typer.Option(
        help="Also run a Monte Carlo study of this many scenarios around the derived weights "
             "(0 = none).")] = 0,
    concentration: Annotated[float, typer.Option(help="Monte Carlo: Dirichlet concentration.")
                             ] = 50.0,
    seed: Annotated[int, typer.Option(help="Monte Carlo: random seed.")] = 0,
    jobs: Annotated[int, typer.Option(help="Monte Carlo: parallel processes.")] = 1,
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: out/<model file stem>_weights_<method>).")] = None,
    force: ForceOpt = False,
) -> None:
    """Derive indicator weights from the data (or an AHP matrix) and write a model file with them.

    Example: allocator weights models/harbin_2020.toml --method entropy --samples 2000

    Example: allocator weights models/harbin_2020.toml --method ahp --matrix ahp.csv
    """
    import contextlib

    from allocator.report.studies import WeightsOptions, write_derived_weights

    options = WeightsOptions(method=method, matrix=matrix,
                             accept_inconsistent=accept_inconsistent, samples=samples,
                             concentration=concentration, seed=seed, jobs=jobs)
    with contextlib.ExitStack() as stack:
        progress = _progress_callback(stack) if samples > 0 else None
        output = write_derived_weights(
            model, options, out or Path("out") / f"{model.stem}_weights_{method}",
            progress=progress, force=force)
    derived = output.derived
    console.print(_frame_table(derived.frame(), f"weights: model and {derived.method}"))
    if derived.jackknife_min is not None:
        console.print("leave_one_out: the range of each derived weight when any one unit is left "
                      "out (data-driven weights can move a lot).")
    if derived.consistency is not None:
        c = derived.consistency
        console.print(f"AHP: lambda_max {c.lambda_max:.4f}, CI {c.ci:.4f}, RI {c.ri:.2f}, "
                      f"CR {c.cr:.4f} ({'acceptable' if c.acceptable else 'above 0.1, forced'})")
    if output.study is not None:
        summary = output.study.summary
        if "verdict" in summary:
            counts = summary["verdict"].value_counts()
            console.print(f"around the {derived.method} weights, {samples:,} scenarios: "
                          + ", ".join(f"{k} {counts.get(k, 0)}" for k in ("over", "under",
                                                                          "depends")))
    console.print(f"wrote {', '.join(output.files)} to {output.out_dir}; run it with: "
                  f"allocator run {output.model_file}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
