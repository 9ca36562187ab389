"""The files of one run: ``allocation.csv`` (one row per unit) and ``run.json`` (the model as used,
input hashes, versions, status), written together into one folder."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pandas as pd

from allocator.outputs.cells import FLOAT_FORMAT, neutralise_frame
from allocator.outputs.folders import write_files
from allocator.pipeline.allocate import AllocationResult, package_versions
from allocator.schema import ModelSpec
from allocator.table import file_sha256

BOM = "\ufeff"  # starts every CSV the tool writes: Excel then reads it as UTF-8


def allocation_csv(result: AllocationResult) -> str:
    """The machine-readable table: stable English columns, one row per unit, id order; the text
    starts with a byte-order mark, so that Excel shows Chinese names (CSV readers skip it)."""
    frame = neutralise_frame(result.frame())
    if result.table.actual is not None:
        frame["actual"] = frame["actual"].round().astype("Int64") \
            if (frame["actual"] % 1 == 0).all() else frame["actual"]
        frame["difference"] = frame["allocation"] - frame["actual"]
    return BOM + frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def status_text(result: AllocationResult) -> str:
    """How the fair allocation was found, in one line: the certified closed form, e.g.
    ``optimal: closed form clip(lambda*t, lower, upper), certified (largest violation 2.2e-16)``,
    or ``optimal: lexicographic min-max in 4 LP solves over 3 levels`` (``path``,
    ``certificate``, ``lp_solves`` and ``levels`` in ``run.json`` hold the details)."""
    fair = result.fair
    if fair.path == "closed_form" and fair.certificate is not None:
        return (f"{fair.status.value}: closed form clip(lambda*t, lower, upper), certified "
                f"(largest violation {fair.certificate.worst:.1e})")
    text = (f"{fair.status.value}: lexicographic min-max in {fair.lp_solves} LP solves over "
            f"{len(fair.levels)} levels")
    if result.problem.violated(result.fair.exact) or (
            result.problem.constraints and fair.certificate is None):
        text += " (general constraints bind: the closed form does not apply)"
    return text


def sha256_or_none(path: Path | None) -> str | None:
    """A file's SHA-256, or None when there is no such file or it cannot be read."""
    try:
        return file_sha256(path) if path is not None and path.is_file() else None
    except OSError:
        return None


def model_file_record(spec: ModelSpec) -> dict:
    """Where the model file was and its hash: how ``allocator verify`` finds and checks it.

    >>> from allocator.schema import load_model
    >>> sorted(model_file_record(load_model("models/harbin_2020.toml")))
    ['model_file', 'model_file_absolute', 'model_sha256']
    """
    model_file = Path(spec.source) if spec.source else None
    return {"model_file": str(model_file) if model_file else None,
            "model_file_absolute": str(model_file.resolve()) if model_file else None,
            "model_sha256": sha256_or_none(model_file)}


def inputs_record(spec: ModelSpec) -> dict:
    """:func:`model_file_record` and the data table's path and hash, for the records of studies
    (a run's record takes the data's from the table it read)."""
    data = spec.data_path()
    return {**model_file_record(spec), "data_file": str(data), "data_sha256": sha256_or_none(data)}


def versions_record() -> dict[str, str]:
    """The versions of this package, of what the result depends on, and of Python."""
    return {**package_versions(), "python": platform.python_version()}


def run_record(result: AllocationResult, extra: dict | None = None) -> dict:
    """What ``run.json`` holds: the model as used, input hashes, versions and the outcome, then
    ``extra`` (what a folder writer adds, e.g. the options of a report)."""
    spec = result.spec
    return {
        "model": spec.model_dump(mode="json", exclude_none=True),
        **model_file_record(spec),
        "overrides": result.overrides.as_dict(),
        "weights_used": result.weights,
        "cap": spec.cap,
        "reserve": spec.reserve_posts,
        "allocatable": spec.allocatable_cap,
        "data_file": str(result.table.path),
        "data_sha256": result.table.sha256,
        "data_encoding": result.table.encoding,
        "data_sheet": result.table.sheet,
        "units": len(result.table),
        "status": status_text(result),
        "solver": result.solver,
        "solver_version": result.solver_version,
        "rounding": spec.rounding,
        "lambdas": result.lambdas,
        "path": result.fair.path,
        "certificate": result.fair.certificate.as_dict() if result.fair.certificate else None,
        "levels": list(result.fair.levels),
        "lp_solves": result.fair.lp_solves,
        # General constraints at the fair allocation and the whole posts; a dual is one valid
        # value at a degenerate optimum, not the only one.
        "constraints": [state.as_dict() for state in result.constraints],
        "rounding_repair": result.repair.as_dict() if result.repair else None,
        "versions": versions_record(),
        **(extra or {}),
    }


def result_files(result: AllocationResult, extra: dict | None = None
                 ) -> dict[str, Callable[[Path], None]]:
    """The files of one run, name -> writer: ``allocation.csv`` and ``run.json`` (with ``extra``
    added to the record). Every folder that holds a result (run, report, scenario) writes them
    with these writers."""
    csv_text = allocation_csv(result)
    record = json.dumps(run_record(result, extra), indent=2, ensure_ascii=False) + "\n"

    def write_csv(path: Path) -> None:
        path.write_text(csv_text, encoding="utf-8", newline="")

    def write_record(path: Path) -> None:
        path.write_text(record, encoding="utf-8")

    return {"allocation.csv": write_csv, "run.json": write_record}


def write_result(result: AllocationResult, out_dir: Path, *, force: bool = False) -> Path:
    """Write ``allocation.csv`` and ``run.json`` for a result into ``out_dir``.

    Refuses (:class:`InputError`) to replace a folder of another model's results, or of another
    scenario of the same model (other overrides), unless ``force``.
    """
    return write_files(out_dir, result_files(result), model=str(result.spec.name), force=force,
                       scenario=result.overrides.tag())


def read_allocation(path: Path | IO[str]) -> pd.DataFrame:
    """Read an ``allocation.csv`` back (ids as text)."""
    return pd.read_csv(path, dtype={"id": str, "label": str, "group": str, "binding": str},
                       keep_default_na=False, na_values=[""])
