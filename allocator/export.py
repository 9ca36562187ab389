"""Export stage: write a result's files into an output folder, all or nothing.

Files are first written into a temporary folder beside the destination, which then replaces the
destination in one rename, so an error never leaves a half-written output folder behind.
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path

import pandas as pd

from allocator.api import AllocationResult, package_versions
from allocator.data import file_sha256
from allocator.errors import InputError

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


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell (and column name) passed through :func:`neutralise`;
    use it on every table that is exported.

    >>> neutralise_frame(pd.DataFrame({"name": ["=1+1", "ok"], "n": [-1, 2]})).to_dict("list")
    {'name': ["'=1+1", 'ok'], 'n': [-1, 2]}
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise)
    out.columns = [neutralise(c) for c in out.columns]
    return out


def allocation_csv(result: AllocationResult) -> str:
    """The machine-readable table: stable English columns, one row per unit, id order."""
    frame = neutralise_frame(result.frame())
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
        "model_file_absolute": str(model_file.resolve()) if model_file else None,
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


def folder_model(folder: Path) -> str | None:
    """The name of the model whose results a folder holds (from its ``run.json``), or None.

    >>> folder_model(Path("no/such/folder")) is None
    True
    """
    try:
        record = json.loads((Path(folder) / "run.json").read_text(encoding="utf-8"))
        name = record["model"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None


def check_replaceable(out_dir: Path, model: str | None, *, force: bool = False,
                      names: Collection[str] = ()) -> None:
    """Raise :class:`InputError` unless ``out_dir`` may be replaced by results of ``model``.

    A missing or empty folder may always be replaced, and so may the results of the same model
    (a ``run.json`` naming it, and no sub-folders) or a folder holding only files named in
    ``names`` (the files about to be written: an earlier run of the same command). A folder of
    another model's results, or of other files or folders, only with ``force``; a file, the
    current folder or one of its parents never.

    >>> check_replaceable(Path("no/such/folder"), "demo")
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a folder; choose another output folder")
    if not out_dir.exists():
        return
    here = Path.cwd().resolve()
    if out_dir.resolve() in (here, *here.parents):
        raise InputError(f"{out_dir}: is the current folder or holds it; choose another output "
                         "folder")
    try:
        entries = sorted(out_dir.iterdir())
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot read the output folder ({exc.strerror or exc})") \
            from None
    if force or not entries:
        return
    if (out_dir / "run.json").is_file():
        existing = folder_model(out_dir)
        if model is not None and existing is not None and existing != model:
            raise InputError(f"{out_dir}: holds results of another model ('{existing}', not "
                             f"'{model}'); choose another output folder, or use --force to "
                             "replace it")
        folders = [e.name for e in entries if e.is_dir()]
        if folders:  # never written by allocator: replacing the folder would delete them
            raise InputError(f"{out_dir}: holds folders that would be lost ({', '.join(folders[:3])}"
                             "); choose another output folder, or use --force to replace it")
        return
    others = [e.name for e in entries if e.name not in names or not e.is_file()]
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise InputError(f"{out_dir}: holds files that are not allocator results ({shown}); "
                         "choose another output folder, or use --force to replace it")


def write_files(out_dir: Path, files: dict[str, Callable[[Path], None]], *,
                model: str | None = None, force: bool = False) -> Path:
    """Create ``out_dir`` holding ``files`` (name -> writer of that path), replacing it whole.

    Every file is written into a temporary folder beside ``out_dir`` first, which then takes its
    place by renaming, so an error never leaves a half-written folder. An existing folder is only
    replaced as :func:`check_replaceable` allows; ``model`` is the name of the model whose results
    are written (when None, it is read from the ``run.json`` among ``files``, if any).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> _ = write_files(d, {"a.txt": lambda p: p.write_text("hi")})
    >>> (d / "a.txt").read_text()
    'hi'
    """
    out_dir = Path(out_dir)
    check_replaceable(out_dir, model, force=force, names=files)  # fail before writing anything
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") \
            from None
    try:
        for name, writer in files.items():
            writer(staging / name)
        check_replaceable(out_dir, model or folder_model(staging), force=force, names=files)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            out_dir.rename(old / "previous")
            staging.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out_dir)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(f"{out_dir}: cannot write the output folder ({exc.strerror or exc})") \
            from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def write_result(result: AllocationResult, out_dir: Path, *, force: bool = False) -> Path:
    """Write ``allocation.csv`` and ``run.json`` for a result into ``out_dir``.

    Refuses (:class:`InputError`) to replace a folder of another model's results unless ``force``.
    """
    csv_text = allocation_csv(result)
    record = json.dumps(run_record(result), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    return write_files(out_dir, {
        "allocation.csv": lambda p: p.write_text(csv_text, encoding="utf-8", newline=""),
        "run.json": lambda p: p.write_text(record, encoding="utf-8"),
    }, model=result.spec.name, force=force)


def read_allocation(path: Path) -> pd.DataFrame:
    """Read an ``allocation.csv`` back (ids as text)."""
    return pd.read_csv(path, dtype={"id": str, "label": str, "group": str, "binding": str},
                       keep_default_na=False, na_values=[""])
