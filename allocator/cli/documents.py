"""The ``report`` command: tables and charts for planning documents.

The library is imported inside the command, so that ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from allocator.choices import Language
from allocator.cli.console import console, note
from allocator.cli.options import ForceOpt, FormatsOpt, LangOpt, ModelArg, OutOpt, WeightOpt, parse_weights


def report(
    model: ModelArg,
    out: OutOpt = None,
    formats: FormatsOpt = None,
    lang: LangOpt = Language.ZH,
    explain: Annotated[str | None, typer.Option(
        metavar="UNIT", help="Unit id or name: print its breakdown and draw its waterfall.")] = None,
    weight: WeightOpt = None,
    force: ForceOpt = False,
) -> None:
    """Write comparison, summary, explanation and inputs tables and charts for planning documents.

    Writes to out/<model file stem>_report unless --out is given.

    Example: allocator report models/harbin_2020.toml --format xlsx,docx --lang zh --explain 230108
    """
    from allocator.cli.render import breakdown_table, rich_table
    from allocator.cli.render import format_option as parse_formats
    from allocator.report.write import ReportOptions, write_report

    options = ReportOptions(formats=parse_formats(formats), lang=lang, explain=explain,
                            weights=parse_weights(weight))
    output = write_report(model, out or Path("out") / f"{model.stem}_report", options,
                          force=force)
    console.print(rich_table(output.report.table("summary"), lang))
    if output.explained is not None:
        console.print(breakdown_table(output.report, output.explained, lang))
    for text in output.notes:
        note(text)
    for caveat in output.report.notes:  # the note on current posts, when the report has them
        note(caveat.get(lang))
    console.print(f"wrote {output.out_dir}: {', '.join(output.files)}")
