"""The ``report`` command: tables and charts for planning documents.

The library is imported inside the command, so that ``--help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated

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


def report(
    model: ModelArg,
    out: OutOpt = None,
    formats: FormatsOpt = None,
    charts: DocumentChartsOpt = True,
    lang: LangOpt = Language.ZH,
    explain: Annotated[str | None, typer.Option(
        metavar="UNIT", help="Unit id or name: print its breakdown and draw its waterfall.")] = None,
    weight: WeightOpt = None,
    cap: CapOpt = None,
    solver: SolverOpt = None,
    rounding: RoundingOpt = None,
    group_total: GroupTotalOpt = None,
    force: ForceOpt = False,
) -> None:
    """Write comparison, summary, explanation and inputs tables and charts for planning documents.

    Writes to out/<model file stem>_report unless --out is given; with overrides (a scenario),
    to out/<model file stem>_report@<what changed>.

    Example: allocator report models/harbin_2020.toml --format xlsx,docx --lang zh --explain 230108
    """
    from allocator.cli.render import breakdown_table, rich_table, weights_line
    from allocator.cli.render import format_option as parse_formats
    from allocator.report.write import ReportOptions, write_report

    given = overrides(weight, cap, solver, rounding, group_total)
    options = ReportOptions(formats=parse_formats(formats, charts), charts=charts, lang=lang,
                            explain=explain, overrides=given)
    with working("allocating, drawing the charts and writing the tables" if charts else
                 "allocating and writing the tables"):
        output = write_report(model, out or default_out(model, "_report", given), options,
                              force=force)
    console.print(rich_table(output.report.table("summary"), lang))
    if output.explained is not None:
        console.print(breakdown_table(output.report, output.explained, lang))
    for text in output.notes:
        note(text)
    for caveat in output.report.notes:  # the note on current posts, when the report has them
        note(caveat.get(lang))
    console.print(weights_line(output.result.weights), soft_wrap=True)
    console.print(f"{scenario_prefix(given)}wrote {output.out_dir}: {', '.join(output.files)}",
                  soft_wrap=True)
