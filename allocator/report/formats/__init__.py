"""Writers for every table format, all reading one :class:`~allocator.report.model.Report`.

CSV (UTF-8 with BOM, one file per table), XLSX (formatted, one sheet per table), DOCX (three-line
tables with numbered captions and notes), Markdown, LaTeX (booktabs) and a self-contained HTML
report, one module each. Numbers come from :meth:`Table.value` / :meth:`Table.text` only, so they
cannot differ between formats, and text cells are already neutralised against spreadsheet
formulas.

>>> from allocator.report.model import Column, Report, Row, T, Table
>>> table = Table("t", T("示例", "Demo"), (Column("a", "单位", "Unit"),), (Row(("x",)),))
>>> list(report_files(Report(T("报告", "Report"), (table,)), "en", ("md", "csv")))
['report.md', 't.csv']
"""

from __future__ import annotations

from functools import partial

from allocator.choices import OutputFormat
from allocator.report.formats.common import Writer, text_file
from allocator.report.formats.excel import write_xlsx
from allocator.report.formats.latex import latex_text
from allocator.report.formats.markdown import markdown_text
from allocator.report.formats.table_csv import write_csv
from allocator.report.formats.webpage import html_text
from allocator.report.formats.word import write_docx
from allocator.report.model import Report


def report_files(report: Report, lang: str, formats: tuple[str, ...],
                 charts: dict[str, bytes] | None = None,
                 chart_notes: tuple[str, ...] = ()) -> dict[str, Writer]:
    """File name -> writer for each requested table format (for
    :func:`allocator.outputs.folders.write_files`). ``charts`` (caption -> PNG) and
    ``chart_notes`` go into the HTML page."""
    files: dict[str, Writer] = {}
    for fmt in formats:
        if fmt == OutputFormat.CSV:
            for table in report.tables:
                files[f"{table.key}.csv"] = partial(write_csv, report, table, lang=lang)
        elif fmt == OutputFormat.XLSX:
            files["report.xlsx"] = partial(write_xlsx, report, lang=lang)
        elif fmt == OutputFormat.DOCX:
            files["report.docx"] = partial(write_docx, report, lang=lang)
        elif fmt == OutputFormat.MD:
            files["report.md"] = text_file(partial(markdown_text, report, lang))
        elif fmt == OutputFormat.TEX:
            files["report.tex"] = text_file(partial(latex_text, report, lang))
        elif fmt == OutputFormat.HTML:
            files["report.html"] = text_file(partial(html_text, report, lang, charts, chart_notes))
        else:
            raise ValueError(f"format '{fmt}': not a table format; use any of "
                             f"{','.join(OutputFormat.tables())}")
    return files
