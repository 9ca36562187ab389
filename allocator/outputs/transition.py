"""The files of a transition plan: ``transition.csv`` (one row per year and unit),
``transition_summary.csv`` (one row per year), both UTF-8 with a BOM so that Excel reads them,
and ``run.json`` (the run record of the allocation, with the plan's settings), written together
into one folder.

>>> import pathlib, tempfile
>>> from allocator.pipeline.transition import plan_transition
>>> plan = plan_transition("models/harbin_2020.toml", {"years": 20, "departure_rate": 0.05})
>>> out = write_transition(plan, pathlib.Path(tempfile.mkdtemp()) / "t")
>>> sorted(p.name for p in out.iterdir())
['.allocator-manifest.json', 'run.json', 'transition.csv', 'transition_summary.csv']
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from allocator.core.transition import NEVER
from allocator.outputs.cells import neutralise_frame
from allocator.outputs.folders import write_files
from allocator.outputs.runfiles import run_record
from allocator.pipeline.transition import TransitionPlan

CSV_ENCODING = "utf-8-sig"  # with a BOM: Excel opens UTF-8 CSV correctly only with one


def transition_csv(plan: TransitionPlan) -> str:
    """``transition.csv``: one row per year (0 = today) and unit, whole people."""
    return neutralise_frame(plan.frame()).to_csv(index=False, lineterminator="\n")


def summary_csv(plan: TransitionPlan) -> str:
    """``transition_summary.csv``: one row per year, the totals and the reserve pool."""
    return neutralise_frame(plan.summary_frame()).to_csv(index=False, lineterminator="\n")


def transition_record(plan: TransitionPlan) -> dict[str, Any]:
    """What ``run.json`` holds: the allocation's run record (the model as used, with its
    ``[transition]`` table, input hashes, versions) and the plan's outcome."""
    reach = plan.reach_year()
    p = plan.projection
    return {
        **run_record(plan.allocation),
        "command": "transition",
        "transition": {
            "settings": plan.settings.model_dump(mode="json", exclude_none=True),
            "years": plan.years,
            "pace_caps": list(plan.pace.caps) if plan.pace else None,
            "pace_groups": list(plan.pace.groups) if plan.pace else None,
            "transitional_today": int(p.transitional[0].sum()),
            "transitional_last_year": int(p.transitional[-1].sum()),
            "last_unit_reaches_quota": None if (reach == NEVER).any() else int(reach.max()),
            "pool_repaid_year": plan.pool_repaid_year,
        },
    }


def write_transition(plan: TransitionPlan, out_dir: Path, *, force: bool = False) -> Path:
    """Write ``transition.csv``, ``transition_summary.csv`` and ``run.json`` into ``out_dir``,
    all or nothing. Refuses (:class:`InputError`) to replace a folder of another model's results
    unless ``force``."""
    data = transition_record(plan)
    record = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return write_files(out_dir, {
        "transition.csv": _writer(transition_csv(plan), CSV_ENCODING),
        "transition_summary.csv": _writer(summary_csv(plan), CSV_ENCODING),
        "run.json": _writer(record, "utf-8"),
    }, model=str(plan.spec.name), force=force, scenario=plan.allocation.overrides.tag())


def _writer(text: str, encoding: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(text, encoding=encoding, newline="")

    return write
