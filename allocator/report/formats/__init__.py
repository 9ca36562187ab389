"""Writers for every table format, all reading one :class:`~allocator.report.model.Report`.

CSV (UTF-8 with BOM, one file per table, and the method statement as ``method.txt``), XLSX (one
print-ready sheet per table, and the method statement), DOCX (an official-style document:
method statement, three-line tables and charts, numbered), Markdown, LaTeX (longtable) and a
self-contained HTML report, one module each. Numbers come from :meth:`Table.value` /
:meth:`Table.text` only, so they cannot differ between formats, and text cells are already
neutralised against spreadsheet formulas.

>>> from allocator.report.model import Column, Report, Row, T, Table
>>> table = Table("t", T("示例", "Demo"), (Column("a", "单位", "Unit"),), (Row(("x",)),))
>>> list(report_files(Report(T("报告", "Report"), (table,)), "en", ("md", "csv")))
['report.md', 't.csv', 'method.txt']
"""

from __future__ import annotations

from functools import partial

from allocator.choices import OutputFormat
from allocator.report.charts import ChartImage
from allocator.report.formats.common import Writer, method_text, text_file
from allocator.report.formats.excel import write_xlsx
from allocator.report.formats.latex import latex_text
from allocator.report.formats.markdown import markdown_text
from allocator.report.formats.table_csv import write_csv
from allocator.report.formats.webpage import html_text
from allocator.report.formats.word import write_docx
from allocator.report.model import Report


def report_files(report: Report, lang: str, formats: tuple[str, ...],
                 charts: tuple[ChartImage, ...] = (),
                 chart_notes: tuple[str, ...] = ()) -> dict[str, Writer]:
    """File name -> writer for each requested table format (for
    :func:`allocator.outputs.folders.write_files`). ``charts`` go into every document (the
    Markdown and LaTeX documents name their PNG files: the caller writes them beside),
    ``chart_notes`` under them; no charts, no figure in any document."""
    files: dict[str, Writer] = {}
    for fmt in formats:
        if fmt == OutputFormat.CSV:
            for table in report.tables:
                files[f"{table.key}.csv"] = partial(write_csv, report, table, lang=lang)
            files["method.txt"] = text_file(partial(method_text, report, lang), bom=True)
        elif fmt == OutputFormat.XLSX:
            files["report.xlsx"] = partial(write_xlsx, report, lang=lang)
        elif fmt == OutputFormat.DOCX:
            files["report.docx"] = partial(write_docx, report, lang=lang, charts=charts,
                                           chart_notes=chart_notes)
        elif fmt == OutputFormat.MD:
            files["report.md"] = text_file(partial(markdown_text, report, lang, charts, chart_notes))
        elif fmt == OutputFormat.TEX:
            files["report.tex"] = text_file(partial(latex_text, report, lang, charts, chart_notes))
        elif fmt == OutputFormat.HTML:
            files["report.html"] = text_file(partial(html_text, report, lang, charts, chart_notes))
        else:
            raise ValueError(f"format '{fmt}': not a table format; use any of "
                             f"{','.join(OutputFormat.tables())}")
    return files
