"""The ``transition`` command: from today's staff to the fair quota, year by year.

The command parses, calls :func:`allocator.pipeline.transition.plan_transition` once, writes the
files and renders the plan: the summary by year, then the year each unit reaches its quota. The
library is imported inside the command, so that ``--help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from allocator.choices import Language
from allocator.cli.console import console, note, working
from allocator.cli.options import (
    CapOpt,
    DocumentChartsOpt,
    ForceOpt,
    FormatsOpt,
    GroupTotalOpt,
    LangOpt,
    ModelArg,
    OutOpt,
    RoundingOpt,
    SolverOpt,
    WeightOpt,
    default_out,
    overrides,
    scenario_prefix,
)

if TYPE_CHECKING:
    from rich.table import Table as RichTable

    from allocator.pipeline.transition import TransitionPlan

# The summary's columns on the terminal: column of transition_summary.csv -> header.
SUMMARY_HEADERS = {"year": "year", "quota": "quota", "headcount": "headcount",
                   "departures": "departures", "recovered": "recovered",
                   "recruited": "recruited", "transitional": "transitional",
                   "pool_balance": "pool balance"}
MAX_UNITS = 60  # above this, the reach table shows group subtotals and the total only
UNFINISHED_HINT = "(--years, --departure-rate), or write this plan anyway with --allow-unfinished"


def transition(
    model: ModelArg,
    years: Annotated[int | None, typer.Option(
        "--years", metavar="N", help="Horizon in years; year 0 is today (default: the model's "
                                     "transition.years, else 10).", show_default=False)] = None,
    departure_rate: Annotated[float | None, typer.Option(
        "--departure-rate", metavar="R", help="Share of each unit's staff leaving each year, from "
                                              "0 up to (not including) 1 (default: the "
                                              "departures of the model's transition table).",
        show_default=False)] = None,
    recruitment: Annotated[str | None, typer.Option(
        "--recruitment", metavar="departures|unlimited|N",
        help="Yearly recruitment budget of the units below quota: the year's departures of all "
             "units, unlimited, or N posts (default: the model's, else departures).",
        show_default=False)] = None,
    pool: Annotated[int | None, typer.Option(
        "--pool", metavar="N", help="Reserve pool: posts that may be lent for recruitment "
                                    "beyond the yearly budget, repaid from later years' unused "
                                    "budget (default: the model's, else 0).",
        show_default=False)] = None,
    weight: WeightOpt = None,
    cap: CapOpt = None,
    solver: SolverOpt = None,
    rounding: RoundingOpt = None,
    group_total: GroupTotalOpt = None,
    allow_unfinished: Annotated[bool, typer.Option(
        "--allow-unfinished", help="Write the plan even when units are still above their quota "
                                   "after the last year (otherwise exit 3).")] = False,
    out: OutOpt = None,
    formats: FormatsOpt = None,
    charts: DocumentChartsOpt = True,
    lang: LangOpt = Language.ZH,
    force: ForceOpt = False,
) -> None:
    """Plan the way from today's staff to the fair quota, year by year: departures recovered by
    units above quota, recruitment shared by the same one ruler below it.

    Writes transition.csv, transition_summary.csv and run.json, and the plan as a document in
    every --format (as allocator report writes them) with its charts, to
    out/<model file stem>_transition unless --out is given (with overrides, @<what changed> is
    added).

    Example: allocator transition models/harbin_2020.toml --years 20 --departure-rate 0.05
    """
    from allocator.cli.render import format_option, weights_line
    from allocator.errors import InfeasibleError
    from allocator.pipeline.transition import plan_transition
    from allocator.report.labels import plain_text
    from allocator.report.transition import TransitionReportOptions, write_transition_report

    options = {"years": years, "departure_rate": departure_rate, "recruitment": recruitment,
               "pool": pool}
    documents = TransitionReportOptions(formats=format_option(formats, charts), charts=charts,
                                        lang=lang)
    given = overrides(weight, cap, solver, rounding, group_total)
    with working("allocating the quota and planning the years") as step:
        plan = plan_transition(model, options, allow_unfinished=True, overrides=given)
        unfinished = plan.unfinished()
        if unfinished is not None and not allow_unfinished:
            raise InfeasibleError(f"{unfinished} {UNFINISHED_HINT}")
        step("drawing the charts and writing the documents" if charts else
             "writing the documents")
        output = write_transition_report(plan, out or default_out(model, "_transition", given),
                                         documents, force=force)
    render_plan(plan)
    console.print(weights_line(plan.allocation.weights), soft_wrap=True)
    if unfinished is not None:
        note(unfinished)
    settings = plan.settings
    if plan.spec.actual_note and (settings.headcount is None or settings.pace is not None):
        note(plain_text(plan.spec.actual_note) or "")
    for text in output.notes:
        note(text)
    console.print(f"{scenario_prefix(given)}wrote {output.out_dir}: {', '.join(output.files)}",
                  soft_wrap=True)


def render_plan(plan: TransitionPlan) -> None:
    """Print the summary by year, the year each unit reaches its quota and the pool's repayment."""
    from rich import box

    from allocator.cli.studies import frame_table
    from allocator.report.labels import plain_text

    settings = plan.settings
    frame = plan.summary_frame()
    budget = settings.recruitment
    said = f"{budget:,} posts a year" if isinstance(budget, int) else str(budget.value)
    summary = frame_table(frame[list(SUMMARY_HEADERS)].rename(columns=SUMMARY_HEADERS),
                          f"{plain_text(plan.spec.name)}: transition by year",
                          f"recruitment budget: {said}; pool: {settings.pool:,} posts")
    summary.box, summary.pad_edge = box.SIMPLE_HEAD, False
    console.print(summary)
    console.print(reach_table(plan))
    reach = plan.reach_year()
    if plan.unfinished() is None and (reach >= 0).all():
        console.print(f"every unit reaches its quota by year {int(reach.max())}")
    vacant = int(frame["vacant"].iloc[-1])
    if vacant:
        console.print(f"after year {plan.years}, {vacant:,} posts of the quota are vacant (the "
                      "recruitment budget does not fill them)")
    if settings.pool:
        lent = int(plan.projection.lent.sum())
        repaid = plan.pool_repaid_year
        console.print(f"pool: {lent:,} posts lent in all; " + (
            "never needed" if not lent else f"repaid by year {repaid}" if repaid is not None
            else "not repaid within the plan"))


def reach_table(plan: TransitionPlan, *, max_units: int = MAX_UNITS) -> RichTable:
    """Each unit's headcount today, quota, change and the year it reaches its quota, units under
    their group's subtotal (a group reaches its quota when its last unit does); above
    ``max_units`` units, only subtotals and the total."""
    from rich import box
    from rich.table import Table as RichTable

    from allocator.core.transition import NEVER
    from allocator.report.grouping import grouped_rows

    frame = plan.reach_frame()
    years = plan.years
    reach = [None if y == NEVER else int(y) for y in plan.reach_year()]
    units = len(frame) <= max_units
    table = RichTable(title="the year each unit reaches its quota", box=box.SIMPLE_HEAD,
                      pad_edge=False)
    for name, numeric in [("id", False), ("unit", False), ("today", True), ("quota", True),
                          ("change", True), ("reaches quota", True)]:
        table.add_column(name, justify="right" if numeric else "left", no_wrap=numeric)
    groups = frame["group"].tolist() if frame["group"].notna().any() else None
    marks: set[str] = set()
    for slot in grouped_rows(len(frame), groups):
        members = [int(i) for i in slot.members]
        if slot.level == "unit":
            if not units:
                continue
            i = members[0]
            name, label = str(frame["id"].iloc[i]), _text(frame["label"].iloc[i])
        else:
            name = f"{slot.group} subtotal" if slot.level == "subtotal" else "Total"
            label = ""
        years_of = [reach[i] for i in members]
        last = None if None in years_of else max(y for y in years_of if y is not None)
        shown = _year(last, years)
        marks.update(c for c in shown if c in "*-")
        subtotal = slot.level != "unit"
        table.add_row(name, label, *(f"{int(frame[c].iloc[members].sum()):,}"
                                     for c in ("headcount", "quota", "change")), shown,
                      style="bold" if subtotal else None, end_section=subtotal)
    captions = ["year 0 is today"]
    if "*" in marks:
        captions.append(f"*: after year {years}, an estimate at the same departures")
    if "-" in marks:
        captions.append("-: not reached")
    if not units:
        captions.append(f"{len(frame):,} units: subtotals only; every unit is in transition.csv")
    table.caption = "; ".join(captions)
    return table


def _year(year: int | None, years: int) -> str:
    """A reach year as shown: ``-`` when never, a star after the plan's last year."""
    if year is None:
        return "-"
    return f"{year}*" if year > years else str(year)


def _text(value: Any) -> str:
    return "" if value is None or value != value else str(value)
