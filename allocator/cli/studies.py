"""Commands for studies of the weights: ``sensitivity`` (how the allocation moves with them) and
``weights`` (derive them from the data or an AHP matrix).

The library is imported inside the commands, so that ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from allocator.choices import Language, StudyMethod, WeightingMethod
from allocator.cli.console import console, note, progress_bar, working
from allocator.cli.options import (
    CapOpt,
    ChartsOpt,
    ConcentrationOpt,
    ForceOpt,
    GroupTotalOpt,
    JobsOpt,
    LangOpt,
    ModelArg,
    OutOpt,
    RoundingOpt,
    SeedOpt,
    SolverOpt,
    StudyMethodOpt,
    WeightingMethodOpt,
    WeightOpt,
    default_out,
    overrides,
    refuse,
    scenario_prefix,
)
from allocator.errors import InputError

VERDICTS = ("over", "under", "depends")
# The options of each study method (parameter names): given with another method, an error.
METHOD_OPTIONS = {
    StudyMethod.SWEEP: ("indicator", "start", "stop", "steps"),
    StudyMethod.OAT: ("delta",),
    StudyMethod.MONTECARLO: ("samples", "concentration", "uniform", "seed", "confidence", "jobs",
                             "save_samples"),
}


def sensitivity(
    ctx: typer.Context,
    model: ModelArg,
    method: StudyMethodOpt = StudyMethod.MONTECARLO,
    indicator: Annotated[str | None, typer.Option(
        metavar="NAME", help="sweep: the indicator whose weight moves (required).")] = None,
    start: Annotated[float, typer.Option("--from", metavar="SHARE",
                                         help="sweep: first weight value.")] = 0.0,
    stop: Annotated[float, typer.Option("--to", metavar="SHARE",
                                        help="sweep: last weight value.")] = 1.0,
    steps: Annotated[int, typer.Option(metavar="N", help="sweep: number of weight values.")] = 11,
    delta: Annotated[float, typer.Option(
        metavar="SHARE", help="oat: move each weight down and up by this (a share).")] = 0.05,
    samples: Annotated[int, typer.Option(
        metavar="N", help="montecarlo: number of weight scenarios.")] = 1000,
    concentration: ConcentrationOpt = 50.0,
    uniform: Annotated[bool, typer.Option(
        "--uniform", help="montecarlo: sample uniformly on the whole simplex instead (no "
                          "--concentration).")] = False,
    seed: SeedOpt = 0,
    confidence: Annotated[float, typer.Option(
        metavar="SHARE", help="montecarlo: share of scenarios that must agree for an over/under "
                              "verdict.")] = 0.95,
    jobs: JobsOpt = 1,
    save_samples: Annotated[bool, typer.Option(
        "--save-samples", help="montecarlo: also write montecarlo_samples.csv, one row per "
                               "scenario.")] = False,
    weight: WeightOpt = None,
    cap: CapOpt = None,
    solver: SolverOpt = None,
    rounding: RoundingOpt = None,
    group_total: GroupTotalOpt = None,
    top: Annotated[int, typer.Option(metavar="N", help="Units (or unit-indicator pairs) shown in "
                                                       "the table and charts.")] = 15,
    charts: ChartsOpt = True,
    lang: LangOpt = Language.ZH,
    out: OutOpt = None,
    force: ForceOpt = False,
) -> None:
    """How the allocation depends on the indicator weights: sweep, one-at-a-time, Monte Carlo.

    The study is centred on the weights of a run with the same --weight (and other) overrides;
    a weight in a sweep or moved one at a time is that indicator's final share, as in a run.
    Writes to out/<model file stem>_sensitivity_<method> unless --out is given (with overrides,
    @<what changed> is added).

    Example: allocator sensitivity models/harbin_2020.toml --samples 2000 --save-samples

    Example: allocator sensitivity models/harbin_2020.toml --method sweep --indicator area --to 0.6
    """
    from allocator.cli.render import weights_line
    from allocator.report.studies import SensitivityOptions, run_study
    from allocator.studies.montecarlo import MonteCarloOptions

    for other, names in METHOD_OPTIONS.items():
        if other is not method:
            refuse(ctx, names, f"{{verb}} to --method {other.value} only, not {method.value}")
    if uniform:
        refuse(ctx, ("concentration",), "does not apply with --uniform (a uniform sample has no "
                                        "concentration)")
    if method is StudyMethod.SWEEP and indicator is None:
        raise InputError("--method sweep: needs --indicator NAME, the indicator whose weight "
                         "moves")
    given = overrides(weight, cap, solver, rounding, group_total)
    options = SensitivityOptions(
        method=method.value, indicator=indicator, start=start, stop=stop, steps=steps,
        delta=delta, montecarlo=MonteCarloOptions(samples=samples, concentration=concentration,
                                                  uniform=uniform, seed=seed,
                                                  confidence=confidence, jobs=jobs),
        save_samples=save_samples, charts=charts, top=top, overrides=given, lang=lang.value)
    out_dir = out or default_out(model, f"_sensitivity_{method.value}", given)
    with contextlib.ExitStack() as stack:
        progress = progress_bar(stack) if method is StudyMethod.MONTECARLO else None
        if progress is None:
            stack.enter_context(working(f"{method.value}: allocating each weight scenario"))
        study = run_study(model, options, out_dir, progress=progress, force=force)
    _render_study(study, top)
    for text in study.notes:
        note(text)
    console.print(weights_line(study_centre(study), "weights at the centre of the study"),
                  soft_wrap=True)
    console.print(f"{scenario_prefix(given)}wrote {', '.join(study.files)} to {study.out_dir}",
                  soft_wrap=True)


def study_centre(study: Any) -> dict[str, float]:
    """The weights at the centre of a study (those of the run with its overrides)."""
    result = study.result
    return {name: float(w) for name, w in zip(result.names, result.centre, strict=True)}


def weights(
    ctx: typer.Context,
    model: ModelArg,
    method: WeightingMethodOpt = WeightingMethod.ENTROPY,
    matrix: Annotated[Path | None, typer.Option(
        metavar="FILE", help="ahp: pairwise-comparison matrix (CSV/XLSX; indicator names in the "
                             "first column and the header; cells like 3 or 1/3).")] = None,
    accept_inconsistent: Annotated[bool, typer.Option(
        "--accept-inconsistent", help="ahp: accept a consistency ratio above 0.1.")] = False,
    samples: Annotated[int, typer.Option(
        metavar="N", help="Also run a Monte Carlo study of this many scenarios around the derived "
                          "weights (0 = none).")] = 0,
    concentration: ConcentrationOpt = 50.0,
    seed: SeedOpt = 0,
    jobs: JobsOpt = 1,
    charts: ChartsOpt = True,
    lang: LangOpt = Language.ZH,
    out: OutOpt = None,
    force: ForceOpt = False,
) -> None:
    """Derive indicator weights from the data (or an AHP matrix) and write a model file with them.

    Writes to out/<model file stem>_weights_<method> unless --out is given.

    Example: allocator weights models/harbin_2020.toml --method entropy --samples 2000

    Example: allocator weights models/harbin_2020.toml --method ahp
    --matrix docs/examples/harbin_ahp.csv
    """
    from allocator.report.studies import WeightsOptions, write_derived_weights

    if method is not WeightingMethod.AHP:
        refuse(ctx, ("matrix", "accept_inconsistent"), f"{{verb}} to --method ahp only, not "
                                                       f"{method.value}")
    elif matrix is None:
        raise InputError("--method ahp: needs --matrix FILE, the pairwise-comparison matrix")
    if samples <= 0:
        refuse(ctx, ("concentration", "seed", "jobs", "charts"),
               "{verb} to the Monte Carlo study only: give --samples N too")
    options = WeightsOptions(method=method.value, matrix=matrix,
                             accept_inconsistent=accept_inconsistent, samples=samples,
                             concentration=concentration, seed=seed, jobs=jobs, charts=charts,
                             lang=lang.value)
    with contextlib.ExitStack() as stack:
        progress = progress_bar(stack) if samples > 0 else None
        if progress is None:
            stack.enter_context(working(f"deriving {method.value} weights"))
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
                  f"allocator run {output.model_file}", soft_wrap=True)


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
        moves = result.moves()
        frame.insert(0, "weight: centre → down / up", frame["indicator"].map(
            lambda name: moves[name].removeprefix(f"{name} ")))
        console.print(frame_table(frame, f"largest swings, one weight at a time, each moved by "
                                         f"± {result.delta:g} (its final share)"))
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
