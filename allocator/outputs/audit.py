"""Audit: check an output folder against its inputs by re-running the recorded model.

``run.json`` records the model as used (with overrides), the hashes of the model and data files
and the package versions. :func:`verify` compares the hashes with the files as they are now,
re-runs the recorded model and compares the new ``allocation.csv`` with the old one, byte by byte.

>>> import pathlib, tempfile
>>> from allocator import allocate
>>> from allocator.outputs.runfiles import write_result
>>> out = write_result(allocate("models/harbin_2020.toml"), pathlib.Path(tempfile.mkdtemp()) / "h")
>>> verify(out).ok
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from allocator.errors import AllocatorError, InputError
from allocator.schema import spec_from_dict

MISMATCH_EXIT_CODE = 5  # what `allocator verify` exits with when a check fails


@dataclass(frozen=True)
class Check:
    """One comparison: what was checked, whether it holds, and the details."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`: ``ok`` when every check holds."""

    folder: Path
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def lines(self) -> list[str]:
        """One line per check, then the verdict."""
        out = [f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in self.checks]
        out.append(f"{self.folder}: " + ("the result matches its inputs" if self.ok else
                                         "the result does NOT match its inputs"))
        return out


def _read_record(folder: Path) -> dict:
    path = folder / "run.json"
    if not folder.is_dir():
        raise InputError(f"{folder}: no such output folder")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: not found; is {folder} an allocator output folder?") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    for key in ("model", "model_file", "data_sha256"):
        if not isinstance(record, dict) or key not in record:
            raise InputError(f"{path}: no '{key}' recorded; cannot verify this folder")
    if not isinstance(record["model"], dict):
        raise InputError(f"{path}: 'model' is not a table of settings; cannot verify this folder")
    return record


def _sha256(path: Path) -> str | None:
    """A file's SHA-256, or None when it cannot be read."""
    from allocator.table import file_sha256

    try:
        return file_sha256(path)
    except OSError:
        return None


def _model_path(record: dict, model: Path | None) -> Path | None:
    if model is not None:
        if not Path(model).is_file():
            raise InputError(f"{model}: model file not found")
        return Path(model)
    for key in ("model_file", "model_file_absolute"):
        if record.get(key) and Path(record[key]).is_file():
            return Path(record[key])
    return None


def _compare_tables(old_path: Path, new_text: str) -> str:
    """Which units' allocations differ between the old file and the new text."""
    import io

    from allocator.outputs.runfiles import read_allocation

    try:
        old = read_allocation(old_path).set_index("id")["allocation"]
        new = read_allocation(io.StringIO(new_text)).set_index("id")["allocation"]
        joined = pd.concat([old.rename("old"), new.rename("new")], axis=1)
    except Exception as exc:  # a damaged old file: say so rather than fail
        return f"the old file cannot be compared ({' '.join(str(exc).split())})"
    changed = joined[joined["old"].ne(joined["new"])]
    if changed.empty:
        return "same allocations, but the files differ in other columns"
    shown = ", ".join(f"{i} {o} -> {n}" for i, (o, n) in changed.head(5).iterrows())
    more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
    return f"{len(changed)} units differ: {shown}{more}"


def verify(folder: str | Path, *, model: str | Path | None = None) -> Verification:
    """Re-run the model recorded in ``folder/run.json`` and compare with the folder's files.

    ``model`` points at the model file when it has moved since the run (paths in ``run.json``
    are as given on the command line). Raises :class:`InputError` when the folder has no readable
    ``run.json``; every other difference is a failed :class:`Check`.
    """
    from allocator.outputs.runfiles import allocation_csv
    from allocator.pipeline.allocate import allocate, package_versions

    folder = Path(folder)
    record = _read_record(folder)
    checks = []
    model_path = _model_path(record, Path(model) if model else None)
    if model_path is None:
        checks.append(Check("model file", False, f"{record['model_file']} not found (run from the "
                            "folder the run was made in, or give --model)"))
        source = record.get("model_file") or str(folder / "model.toml")
    else:
        source = str(model_path)
        same = _sha256(model_path) == record.get("model_sha256")
        checks.append(Check("model file", same, f"{model_path} " + (
            "unchanged" if same else "has changed since the run (the recorded model is re-run)")))
    try:
        spec = spec_from_dict(record["model"], source)
    except InputError as exc:
        return Verification(folder, (*checks, Check("recorded model", False, str(exc))))
    data_path = spec.data_path()
    if data_path.is_file():
        same = _sha256(data_path) == record["data_sha256"]
        checks.append(Check("data file", same, f"{data_path} " + (
            "unchanged" if same else "has changed since the run")))
    else:
        checks.append(Check("data file", False, f"{data_path} not found"))
        return Verification(folder, tuple(checks))
    try:
        new_text = allocation_csv(allocate(spec))
    except AllocatorError as exc:
        checks.append(Check("re-run", False, str(exc)))
        return Verification(folder, tuple(checks))
    old_path = folder / "allocation.csv"
    if not old_path.is_file():
        checks.append(Check("allocation.csv", False, f"{old_path} not found"))
    else:
        try:
            same = old_path.read_bytes() == new_text.encode("utf-8")
        except OSError:
            same = False
        checks.append(Check("allocation.csv", same, "identical to a fresh run" if same else
                            _compare_tables(old_path, new_text)))
    recorded = record.get("versions") or {}
    current = package_versions()
    changed = [f"{k} {recorded[k]} -> {v}" for k, v in current.items()
               if k in recorded and recorded[k] != v]
    checks.append(Check("versions", True, "as recorded" if not changed else
                        "changed since the run: " + ", ".join(changed)))
    return Verification(folder, tuple(checks))
