"""Shared test helpers: write small models and tables to a temporary folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from allocator.core.problem import Pool, Problem

ROOT = Path(__file__).resolve().parents[1]
HARBIN = ROOT / "models" / "harbin_2020.toml"
CHINA = ROOT / "models" / "china_counties_2020.toml"


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def toml_value(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def write_model(path: Path, top: dict, indicators: dict[str, dict], bounds: dict | None = None,
                groups: dict[str, int] | None = None) -> Path:
    """Write a TOML model file from plain dicts."""
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
    for name, fields in indicators.items():
        lines.append(f"[indicators.{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in fields.items()]
    if bounds:
        lines.append("[bounds]")
        lines += [f"{k} = {toml_value(v)}" for k, v in bounds.items()]
    for name, total in (groups or {}).items():
        lines.append(f'[groups."{name}"]')
        lines.append(f"total = {total}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_problem(target, lower=None, upper=None, pools=None, ids=None) -> Problem:
    """A Problem from arrays; ``pools`` is a list of (member indices, total)."""
    target = np.asarray(target, dtype=float)
    n = len(target)
    lower = np.zeros(n) if lower is None else np.asarray(lower, dtype=float)
    upper = np.full(n, np.inf) if upper is None else np.asarray(upper, dtype=float)
    if pools is None:
        pools = [(np.arange(n), int(round(target.sum())))]
    return Problem(
        ids=tuple(ids or (f"u{i}" for i in range(n))),
        target=target,
        lower=lower,
        upper=upper,
        lower_rule=tuple("floor" if lower[i] > 0 else "" for i in range(n)),
        upper_rule=tuple("ceiling" if np.isfinite(upper[i]) else "" for i in range(n)),
        pools=tuple(Pool(f"g{k}" if len(pools) > 1 else "", np.asarray(m, dtype=int), total)
                    for k, (m, total) in enumerate(pools)),
        total=sum(total for _, total in pools),
    )


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
    }, {"pop": {"column": "pop", "weight": 0.7}, "area": {"column": "area", "weight": 0.3,
                                                          "transform": "sqrt"}})
