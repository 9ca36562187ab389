"""Writing a report folder: the tables in every requested format and language, the charts, and
``allocation.csv`` and ``run.json`` for provenance, in one atomic step.

>>> parse_formats("xlsx, CSV"), len(parse_formats(None))
(('xlsx', 'csv'), 8)
"""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from allocator.choices import Language, OutputFormat, names
from allocator.errors import InputError, did_you_mean
from allocator.overrides import Overrides
from allocator.pipeline.allocate import AllocationResult, prepare, solve, unit_index
from allocator.report.build import build_report
from allocator.report.model import LANGS, Report, T
from allocator.schema import ModelSpec

if TYPE_CHECKING:
    from allocator.report.charts import Charts
    from allocator.report.formats.common import Writer

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
    """What to write: formats, whether to draw charts, language, the unit to explain, the run's
    overrides (weights as final shares, cap, solver, rounding, group totals; ``weights`` alone
    is kept for callers that give only weights), and the date of the method statement (default:
    today).

    ``charts`` (on by default) draws the charts and shows them in every document; off, no chart
    is drawn and no document shows one. The chart formats in ``formats`` (``png``, ``svg``) say
    which chart files are written besides: ``formats=("docx",)`` is a document with its charts
    and no chart file, ``formats=("docx",), charts=False`` one without charts."""

    formats: tuple[str, ...] = FORMATS
    lang: str = Language.ZH.value
    explain: str | None = None
    weights: dict[str, float] | None = None
    date: datetime.date | None = None
    overrides: Overrides | None = None
    charts: bool = True


@dataclass(frozen=True, eq=False)
class ReportOutput:
    """What :func:`write_report` wrote and the objects it wrote them from."""

    out_dir: Path
    files: tuple[str, ...]
    result: AllocationResult
    report: Report
    explained: str | None = None
    notes: tuple[str, ...] = ()


def report_settings(options: ReportOptions, formats: tuple[str, ...], date: datetime.date,
                    explained: str | None) -> dict:
    """What a report folder's ``run.json`` records of how it was written, so that ``allocator
    verify`` can write it again: formats, charts, language, the unit explained and the date.

    >>> report_settings(ReportOptions(lang="en"), ("csv",), datetime.date(2026, 1, 2), None)
    {'formats': ['csv'], 'charts': True, 'lang': 'en', 'explain': None, 'date': '2026-01-02'}
    """
    return {"formats": list(formats), "charts": options.charts, "lang": options.lang,
            "explain": explained, "date": date.isoformat()}


def write_report(model: AllocationResult | ModelSpec | str | Path, out_dir: str | Path,
                 options: ReportOptions = ReportOptions(), *, force: bool = False) -> ReportOutput:
    """Allocate ``model`` (a model file, a :class:`ModelSpec` or an :class:`AllocationResult`)
    and write the report folder in one atomic step: the tables in every requested format and
    language, the charts (unless ``options.charts`` is off), and ``allocation.csv`` and
    ``run.json`` for provenance. Markdown and LaTeX documents show the charts from PNG files
    beside them, so they bring the PNGs along.

    >>> import tempfile, allocator
    >>> model = Path(allocator.__file__).parents[1] / "models" / "harbin_2020.toml"
    >>> out = write_report(model, Path(tempfile.mkdtemp()) / "report",
    ...                    ReportOptions(formats=("md",), lang="en"))
    >>> out.files
    ('report.md', 'allocation.png', 'per10k.png', 'allocation.csv', 'run.json')
    >>> write_report(model, Path(tempfile.mkdtemp()) / "report",
    ...              ReportOptions(formats=("md",), lang="en", charts=False)).files
    ('report.md', 'allocation.csv', 'run.json')
    """
    from allocator.outputs.folders import write_files
    from allocator.outputs.runfiles import result_files
    from allocator.report.charts import render_charts

    formats = checked_documents(options.formats, options.lang, options.charts)
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
    date = options.date or datetime.date.today()
    report = build_report(result, date=date)

    def draw(chart_formats: tuple[str, ...]) -> Charts:
        return render_charts(report, options.lang, waterfall=unit, formats=chart_formats)

    files, notes = document_files(report, options.lang, formats, draw if options.charts else None)
    files.update(result_files(result, {"report": report_settings(options, formats, date, unit)}))
    written = write_files(Path(out_dir), files, force=force, scenario=result.overrides.tag())
    return ReportOutput(out_dir=written, files=tuple(files), result=result, report=report,
                        explained=unit, notes=tuple(n.en for n in notes))


def checked_documents(formats: tuple[str, ...], lang: str, charts: bool = True
                      ) -> tuple[str, ...]:
    """``formats`` once every format and the language are known and, with ``charts`` off, no
    chart format is asked for (else :class:`InputError`).

    >>> checked_documents(("md", "png"), "en", charts=False)
    Traceback (most recent call last):
    allocator.errors.InputError: format 'png': a chart format, but charts are off; drop it or turn charts on
    """
    if lang not in LANGS:
        raise InputError(f"language '{lang}': use {' or '.join(LANGS)}")
    for fmt in formats:
        _check_format(fmt)
        if not charts and fmt in OutputFormat.charts():
            raise InputError(f"format '{fmt}': a chart format, but charts are off; drop it or "
                             "turn charts on")
    return tuple(formats)


def document_files(report: Report, lang: str, formats: tuple[str, ...],
                   draw: Callable[[tuple[str, ...]], Charts] | None
                   ) -> tuple[dict[str, Writer], tuple[T, ...]]:
    """The files of ``report`` in ``formats`` (table formats and chart formats) and ``lang``:
    a writer for each document and chart file, and the notes of the charts (e.g. the font
    fallback). ``draw(chart_formats)`` renders the charts, with the chart files of
    ``chart_formats``; it is called only when a document shows a chart or a chart file is
    written. Every document shows the charts: Markdown and LaTeX from PNG files beside them, so
    they bring the PNGs along. ``draw=None`` means no charts: none is drawn, no document shows
    one."""
    from allocator.report.charts import ChartImage, FontFallbackWarning
    from allocator.report.formats import report_files
    from allocator.report.formats.common import bytes_file

    chart_formats = tuple(f for f in formats if f in OutputFormat.charts())
    if OutputFormat.MD in formats or OutputFormat.TEX in formats:
        chart_formats += () if OutputFormat.PNG in chart_formats else (OutputFormat.PNG.value,)
    shown = chart_formats or OutputFormat.HTML in formats or OutputFormat.DOCX in formats
    notes: tuple[T, ...] = ()
    images: tuple[ChartImage, ...] = ()
    chart_files: dict[str, Writer] = {}
    if draw is not None and shown:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FontFallbackWarning)
            charts = draw(chart_formats)
        notes, images = charts.notes, charts.images
        chart_files = {name: bytes_file(data) for name, data in charts.files.items()}
    tables = tuple(f for f in formats if f in OutputFormat.tables())
    files = {**report_files(report, lang, tables, images, tuple(n.get(lang) for n in notes)),
             **chart_files}
    return files, notes
