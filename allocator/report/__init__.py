"""Documents for planning: one table model, six writers (CSV, XLSX, DOCX, Markdown, LaTeX, HTML)
and charts, all reading the same rounded cells.

>>> from allocator.report import ReportOptions
>>> ReportOptions().lang
'zh'
"""

from allocator.report.build import ReportOptions, ReportOutput, build_report, write_report

__all__ = ["ReportOptions", "ReportOutput", "build_report", "write_report"]
