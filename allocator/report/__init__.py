"""Documents for planning: one table model, six writers (CSV, XLSX, DOCX, Markdown, LaTeX, HTML)
and charts, all reading the same rounded cells.

* :mod:`~allocator.report.model` the table model; :mod:`~allocator.report.labels` its words;
  :mod:`~allocator.report.grouping` the grouped layout with subtotals;
* :mod:`~allocator.report.build` the four tables; :mod:`~allocator.report.formats` the writers;
  :mod:`~allocator.report.charts` and :mod:`~allocator.report.study_charts` the charts;
* :mod:`~allocator.report.write` the report folder; :mod:`~allocator.report.studies` the study
  folders; :mod:`~allocator.report.transition` the transition chapter and folder (its charts in
  :mod:`~allocator.report.transition_charts`).

The table model loads without the allocation pipeline: the names below load on first use.

>>> from allocator.report import ReportOptions
>>> ReportOptions().lang
'zh'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from allocator.report.build import build_report
    from allocator.report.transition import (
        TransitionReportOptions,
        build_transition_report,
        write_transition_report,
    )
    from allocator.report.write import ReportOptions, ReportOutput, write_report

_LAZY = {
    "build_report": "allocator.report.build",
    "ReportOptions": "allocator.report.write",
    "ReportOutput": "allocator.report.write",
    "write_report": "allocator.report.write",
    "TransitionReportOptions": "allocator.report.transition",
    "build_transition_report": "allocator.report.transition",
    "write_transition_report": "allocator.report.transition",
}

__all__ = ["ReportOptions", "ReportOutput", "TransitionReportOptions", "build_report",
           "build_transition_report", "write_report", "write_transition_report"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'allocator.report' has no attribute {name!r}")
