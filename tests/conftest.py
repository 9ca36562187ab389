"""Shared test fixtures; the helpers they use live in ``support``."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import HARBIN, write_csv, write_model


@pytest.fixture(scope="session", params=["zh", "en"])
def harbin_report(request, tmp_path_factory):
    """The Harbin report in every format, in Chinese and in English (with 平房区's waterfall and
    a fixed date): ``(lang, folder, ReportOutput)``, written once for every test that reads it."""
    import datetime
    import warnings

    from allocator.report import ReportOptions, write_report
    from allocator.report.charts import FontFallbackWarning

    lang = request.param
    out = tmp_path_factory.mktemp(f"harbin_report_{lang}") / "report"
    options = ReportOptions(lang=lang, explain="230108", date=datetime.date(2025, 1, 15))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FontFallbackWarning)
        output = write_report(HARBIN, out, options)
    return lang, out, output


@pytest.fixture
def small_model(tmp_path: Path) -> Path:
    """Five units, two groups, actual posts; cap 1,000."""
    write_csv(tmp_path / "units.csv", ["code", "name", "kind", "pop", "area", "posts"], [
        ["U1", "North", "city", 100, 10, 120],
        ["U2", "South", "city", 300, 20, 260],
        ["U3", "East", "rural", 50, 90, 150],
        ["U4", "West", "rural", 150, 40, 200],
        ["U5", "Hill", "rural", 400, 40, 270],
    ])
    return write_model(tmp_path / "small.toml", {
        "name": "small", "data": "units.csv", "id": "code", "label": "name", "group": "kind",
        "actual": "posts", "cap": 1000,
        "indicators": {"pop": {"column": "pop", "weight": 0.7},
                       "area": {"column": "area", "weight": 0.3, "transform": "sqrt"}},
    })
