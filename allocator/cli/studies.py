"""Commands for studies of the weights: ``sensitivity`` (how the allocation moves with them) and
``weights`` (derive them from the data or an AHP matrix).

The library is imported inside the commands, so that ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from allocator.choices import Language, StudyMethod, WeightingMethod
from allocator.cli.console import console, err_console, note
from allocator.cli.options import (
    ConcentrationOpt,
    ForceOpt,
    JobsOpt,
    LangOpt,
    ModelArg,
    OutOpt,
    RoundingOpt,
    SeedOpt,
    StudyMethodOpt,
    WeightingMethodOpt,
)

VERDICTS = ("over", "under", "depends")


def sensitivity(
    model: ModelArg,
    method: StudyMethodOpt = StudyMethod.MONTECARLO,
    indicator: Annotated[str | None, typer.Option(help="sweep: the indicator whose weight moves.")
                         ] = None,
    start: Annotated[float, typer.Option("--from", help="sweep: first weight value.")] = 0.0,
    stop: Annotated[float, typer.Option("--to", help="sweep: last weight value.")] = 1.0,
    steps: Annotated[int, typer.Option(help="sweep: number of weight values.")] = 11,
    delta: Annotated[float, typer.Option(help="oat: move each weight down and up by this.")
                     ] = 0.05,
    samples: Annotated[int, typer.Option(help="montecarlo: number of weight scenarios.")] = 1000,
    concentration: ConcentrationOpt = 50.0,
    uniform: Annotated[bool, typer.Option(
        "--uniform", help="montecarlo: sample uniformly on the whole simplex instead.")] = False,
    seed: SeedOpt = 0,
    confidence: Annotated[float, typer.Option(
        help="montecarlo: share of scenarios that must agree for an over/under verdict.")] = 0.95,
    jobs: JobsOpt = 1,
    save_samples: Annotated[bool, typer.Option(
        "--save-samples", help="montecarlo: also write montecarlo_samples.csv, one row per "
                               "scenario.")] = False,
    rounding: RoundingOpt = None,
    top: Annotated[int, typer.Option(help="Units (or unit-indicator pairs) shown in the "
                                          "table and charts.")] = 15,
    charts: Annotated[bool, typer.Option(help="Write PNG charts.")] = True,
    lang: LangOpt = Language.ZH,
    out: OutOpt = None,
    force: ForceOpt = False,
) -> None:
    """How the allocation depends on the indicator weights: sweep, one-at-a-time, Monte Carlo.

    Writes to out/<model file stem>_sensitivity_<method> unless --out is given.

    Example: allocator sensitivity models/harbin_2020.toml --samples 10000 --save-samples

    Example: allocator sensitivity models/harbin_2020.toml --method sweep --indicator area --to 0.6
    """
    from allocator.report.studies import SensitivityOptions, run_study
    from allocator.studies.montecarlo import MonteCarloOptions

    options = SensitivityOptions(
        method=method.value, indicator=indicator, start=start, stop=stop, steps=steps,
        delta=delta, montecarlo=MonteCarloOptions(samples=samples, concentration=concentration,
                                                  uniform=uniform, seed=seed,
                                                  confidence=confidence, jobs=jobs),
        save_samples=save_samples, rounding=rounding, charts=charts, top=top, lang=lang.value)
    out_dir = out or Path("out") / f"{model.stem}_sensitivity_{method.value}"
    with contextlib.ExitStack() as stack:
        progress = progress_bar(stack) if method is StudyMethod.MONTECARLO else None
        study = run_study(model, options, out_dir, progress=progress, force=force)
    _render_study(study, top)
    for text in study.notes:
        note(text)
    console.print(f"wrote {', '.join(study.files)} to {study.out_dir}")


def weights(
    model: ModelArg,
    method: WeightingMethodOpt = WeightingMethod.ENTROPY,
    matrix: Annotated[Path | None, typer.Option(
        help="ahp: pairwise-comparison matrix (CSV/XLSX; indicator names in the first column "
             "and the header; cells like 3 or 1/3).")] = None,
    accept_inconsistent: Annotated[bool, typer.Option(
        "--accept-inconsistent", help="ahp: accept a consistency ratio above 0.1.")] = False,
    samples: Annotated[int, typer.Option(
        help="Also run a Monte Carlo study of this many scenarios around the derived weights "
             "(0 = none).")] = 0,
    concentration: ConcentrationOpt = 50.0,
    seed: SeedOpt = 0,
    jobs: JobsOpt = 1,
    lang: LangOpt = Language.ZH,
    out: OutOpt = None,
    force: ForceOpt = False,
) -> None:
    """Derive indicator weights from the data (or an AHP matrix) and write a model file with them.

    Writes to out/<model file stem>_weights_<method> unless --out is given.

    Example: allocator weights models/harbin_2020.toml --method entropy --samples 2000

    Example: allocator weights models/harbin_2020.toml --method ahp --matrix ahp.csv
    """
    from allocator.report.studies import WeightsOptions, write_derived_weights

    options = WeightsOptions(method=method.value, matrix=matrix,
                             accept_inconsistent=accept_inconsistent, samples=samples,
                             concentration=concentration, seed=seed, jobs=jobs,
                             lang=lang.value)
    with contextlib.ExitStack() as stack:
        progress = progress_bar(stack) if samples > 0 else None
        output = write_derived_weights(
            model, options, out or Path("out") / f"{model.stem}_weights_{method.value}",
            progress=progress, force=force)
    derived = output.derived
    console.print(frame_table(derived.frame(), f"weights: model and {derived.method}"))
    if derived.jackknife_min is not None:
        console.print("leave_one_out: the range of each derived weight when any one unit is left "
                      "out (data-driven weights can move a lot).")
    if derived.consistency is not None:
        c = derived.consistency
        console.print(f"AHP: lambda_max {c.lambda_max:.4f}, CI {c.ci:.4f}, RI {c.ri:.2f}, "
                      f"CR {c.cr:.4f} ({'acceptable' if c.acceptable else 'above 0.1, forced'})")
    study: Any = output.study  # a Monte Carlo result
    if study is not None and "verdict" in study.summary:
        console.print(f"around the {derived.method} weights, {samples:,} scenarios: "
                      + _verdict_counts(study.summary))
    for text in output.notes:
        note(text)
    console.print(f"wrote {', '.join(output.files)} to {output.out_dir}; run it with: "
                  f"allocator run {output.model_file}")


def frame_table(frame: Any, title: str, caption: str | None = None) -> Any:
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


def progress_bar(stack: contextlib.ExitStack) -> Callable[[int, int], None] | None:
    """A rich progress bar on stderr for long studies (none in logs or pipes); returns the
    callback the studies call with (done, total)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    if not err_console.is_terminal:
        return None
    progress = stack.enter_context(Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=err_console, transient=True))
    task = progress.add_task("scenarios", total=None)
    return lambda done, total: progress.update(task, completed=done, total=total)


def _verdict_counts(summary: Any) -> str:
    counts = summary["verdict"].value_counts()
    return ", ".join(f"{k} {counts.get(k, 0)}" for k in VERDICTS)


def _render_study(study: Any, top: int) -> None:
    from allocator.studies.montecarlo import MonteCarloResult
    from allocator.studies.oneway import OatResult, SweepResult

    result = study.result
    if isinstance(result, SweepResult):
        wide = result.wide(top)
        caption = None if len(wide) == len(result.units) else \
            f"the {len(wide)} of {len(result.units):,} units that move most; all in sweep.csv"
        console.print(frame_table(wide, f"posts by weight of '{result.indicator}'", caption))
    elif isinstance(result, OatResult):
        frame = result.largest(top)[["indicator", "id", "label", "base", "change_down",
                                     "change_up"]]
        console.print(frame_table(frame, f"largest swings, one weight at a time ± "
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
        console.print(frame_table(frame, f"{result.options.samples:,} weight scenarios", caption))
        if "verdict" in summary:
            console.print(f"verdict at {result.options.confidence:.0%} of scenarios "
                          "(over = current posts above the allocation): "
                          + _verdict_counts(summary))
