"""Export stage: write a result's files into an output folder, all or nothing.

Files are first written into a temporary folder beside the destination, which then replaces the
destination in one rename, so an error never leaves a half-written output folder behind.
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from allocator.api import AllocationResult, package_versions
from allocator.data import file_sha256

FLOAT_FORMAT = "%.6f"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text):
    """Make a text cell safe for spreadsheets: a leading ``= + - @`` (or tab/CR) would start a
    formula, so such cells get a leading apostrophe. Numbers and non-text pass through.

    >>> neutralise("=SUM(A1:A9)"), neutralise("道里区"), neutralise(-3)
    ("'=SUM(A1:A9)", '道里区', -3)
    """
    if isinstance(text, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def allocation_csv(result: AllocationResult) -> str:
    """The machine-readable table: stable English columns, one row per unit, id order."""
    frame = result.frame()
    for column in ("id", "label", "group"):
        frame[column] = frame[column].map(neutralise)
    if result.table.actual is not None:
        frame["actual"] = frame["actual"].round().astype("Int64") \
            if (frame["actual"] % 1 == 0).all() else frame["actual"]
        frame["difference"] = frame["allocation"] - frame["actual"]
    return frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def run_record(result: AllocationResult) -> dict:
    """What ``run.json`` holds: the model as used, input hashes, versions and the outcome."""
    spec = result.spec
    model_file = Path(spec.source) if spec.source else None
    return {
        "model": spec.model_dump(mode="json", exclude_none=True),
        "model_file": str(model_file) if model_file else None,
        "model_sha256": file_sha256(model_file) if model_file and model_file.is_file() else None,
        "overrides": result.overrides,
        "weights_used": result.weights,
        "cap": spec.cap,
        "reserve": spec.reserve_posts,
        "allocatable": spec.allocatable_cap,
        "data_file": str(result.table.path),
        "data_sha256": result.table.sha256,
        "units": len(result.table),
        "status": result.status.value,
        "solver": result.solver,
        "solver_version": result.solver_version,
        "rounding": spec.rounding,
        "lambdas": result.lambdas,
        "levels": list(result.fair.levels),
        "lp_solves": result.fair.lp_solves,
        "versions": {**package_versions(), "python": platform.python_version()},
    }


def write_files(out_dir: Path, files: dict[str, Callable[[Path], None]]) -> Path:
    """Create ``out_dir`` holding ``files`` (name -> writer of that path), replacing it whole.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> _ = write_files(d, {"a.txt": lambda p: p.write_text("hi")})
    >>> (d / "a.txt").read_text()
    'hi'
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for name, writer in files.items():
            writer(staging / name)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            out_dir.rename(old / "previous")
            staging.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def write_result(result: AllocationResult, out_dir: Path) -> Path:
    """Write ``allocation.csv`` and ``run.json`` for a result into ``out_dir``."""
    csv_text = allocation_csv(result)
    record = json.dumps(run_record(result), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    return write_files(out_dir, {
        "allocation.csv": lambda p: p.write_text(csv_text, encoding="utf-8", newline=""),
        "run.json": lambda p: p.write_text(record, encoding="utf-8"),
    })


def read_allocation(path: Path) -> pd.DataFrame:
    """Read an ``allocation.csv`` back (ids as text)."""
    return pd.read_csv(path, dtype={"id": str, "label": str, "group": str, "binding": str},
                       keep_default_na=False, na_values=[""])
