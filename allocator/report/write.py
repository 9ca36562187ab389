"""Writing a report folder: the tables in every requested format and language, the charts, and
``allocation.csv`` and ``run.json`` for provenance, in one atomic step.

>>> parse_formats("xlsx, CSV"), len(parse_formats(None))
(('xlsx', 'csv'), 8)
"""

from __future__ import annotations

import datetime
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from allocator.choices import Language, OutputFormat, names
from allocator.errors import InputError, did_you_mean
from allocator.overrides import Overrides
from allocator.pipeline.allocate import AllocationResult, prepare, solve, unit_index
from allocator.report.build import build_report
from allocator.report.model import LANGS, Report, T
from allocator.schema import ModelSpec

FORMATS = names(OutputFormat)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InputError(f"format '{fmt}': unknown format{did_you_mean(fmt, FORMATS)}; "
                         f"use any of {','.join(FORMATS)}")


def parse_formats(text: str | None) -> tuple[str, ...]:
    """``"csv,xlsx"`` -> ``("csv", "xlsx")``; empty means every format.

    >>> parse_formats("csv,xlsl")
    Traceback (most recent call last):
    allocator.errors.InputError: format 'xlsl': unknown format (did you mean 'xlsx'?); use any of ...
    """
    if not text:
        return FORMATS
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    for fmt in formats:
        _check_format(fmt)
    return formats or FORMATS


@dataclass(frozen=True)
class ReportOptions:
    """What to write: formats, language, the unit to explain, the run's overrides (weights
    as final shares, cap, solver, rounding, group totals; ``weights`` alone is kept for
    callers that give only weights), and the date of the method statement (default: today)."""

    formats: tuple[str, ...] = FORMATS
    lang: str = Language.ZH.value
    explain: str | None = None
    weights: dict[str, float] | None = None
    date: datetime.date | None = None
    overrides: Overrides | None = None


@dataclass(frozen=True, eq=False)
class ReportOutput:
    """What :func:`write_report` wrote and the objects it wrote them from."""

    out_dir: Path
    files: tuple[str, ...]
    result: AllocationResult
    report: Report
    explained: str | None = None
    notes: tuple[str, ...] = ()


def write_report(model: AllocationResult | ModelSpec | str | Path, out_dir: str | Path,
                 options: ReportOptions = ReportOptions(), *, force: bool = False) -> ReportOutput:
    """Allocate ``model`` (a model file, a :class:`ModelSpec` or an :class:`AllocationResult`)
    and write the report folder in one atomic step: the tables in every requested format and
    language, the charts, and ``allocation.csv`` and ``run.json`` for provenance. Markdown and
    LaTeX documents show the charts from PNG files beside them, so they bring the PNGs along
    when charts are drawn (no chart format: no charts in them).

    >>> import tempfile, allocator
    >>> model = Path(allocator.__file__).parents[1] / "models" / "harbin_2020.toml"
    >>> out = write_report(model, Path(tempfile.mkdtemp()) / "report",
    ...                    ReportOptions(formats=("md", "png"), lang="en"))
    >>> out.files
    ('report.md', 'allocation.png', 'per10k.png', 'allocation.csv', 'run.json')
    """
    from allocator.outputs.folders import write_files
    from allocator.outputs.runfiles import result_files
    from allocator.report.charts import ChartImage, FontFallbackWarning, render_charts
    from allocator.report.formats import report_files
    from allocator.report.formats.common import Writer, bytes_file

    if options.lang not in LANGS:
        raise InputError(f"language '{options.lang}': use {' or '.join(LANGS)}")
    formats = tuple(options.formats)
    for fmt in formats:
        _check_format(fmt)
    given = options.overrides or Overrides()
    if options.weights:
        given = replace(given, weights={**(given.weights or {}), **options.weights})
    if isinstance(model, AllocationResult):
        result = model
        if not given.is_empty:
            raise InputError("overrides: give overrides with the model, not with a result")
    else:
        result = solve(prepare(model, given))
    unit = None
    if options.explain is not None:
        unit = result.table.ids[unit_index(result, options.explain)]
    report = build_report(result, date=options.date)
    chart_formats = tuple(f for f in formats if f in OutputFormat.charts())
    if chart_formats and (OutputFormat.MD in formats or OutputFormat.TEX in formats) \
            and OutputFormat.PNG not in chart_formats:
        chart_formats += (OutputFormat.PNG.value,)  # the documents show these files
    notes: tuple[T, ...] = ()
    images: tuple[ChartImage, ...] = ()
    chart_files: dict[str, Writer] = {}
    if chart_formats or OutputFormat.HTML in formats or OutputFormat.DOCX in formats:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FontFallbackWarning)
            charts = render_charts(report, options.lang, waterfall=unit, formats=chart_formats)
        notes, images = charts.notes, charts.images
        chart_files = {name: bytes_file(data) for name, data in charts.files.items()}
    tables = tuple(f for f in formats if f in OutputFormat.tables())
    files = {**report_files(report, options.lang, tables, images,
                            tuple(n.get(options.lang) for n in notes),
                            pngs=OutputFormat.PNG in chart_formats), **chart_files}
    files.update(result_files(result))
    written = write_files(Path(out_dir), files, force=force, scenario=result.overrides.tag())
    return ReportOutput(out_dir=written, files=tuple(files), result=result, report=report,
                        explained=unit, notes=tuple(n.en for n in notes))
