"""Audit: check an output folder against its inputs by re-deriving it from the files on disk.

``run.json`` records the model as used (with overrides), the hashes of the model and data files,
the outcome and the package versions. :func:`verify` trusts none of it: it re-runs the model
*file* (with the recorded command-line overrides, which it shows) on the data file the model
names, and compares

- the hashes of the model and data files with the recorded ones;
- every field of ``run.json`` with the record a fresh run writes, field by field (a missing,
  extra, mistyped or different field fails, naming it): model, weights, cap, status, ...;
- ``allocation.csv`` with a fresh one, byte by byte.

Fields that say *where* the files were and *which software* ran (``model_file``,
``model_file_absolute``, ``data_file``, ``versions``, ``solver_version``, and any timestamp) are
reported when their values differ, not failed: a folder moved to another machine still verifies
(a missing one, or one of another type, fails).
A ``run.json`` that is not a JSON object with a recorded ``model`` is an input error; any other
damage is a failed check (exit code 5 on the command line).

>>> import pathlib, tempfile
>>> from allocator import allocate
>>> from allocator.outputs.runfiles import write_result
>>> out = write_result(allocate("models/harbin_2020.toml"), pathlib.Path(tempfile.mkdtemp()) / "h")
>>> verify(out).ok
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.errors import AllocatorError, InputError
from allocator.schema import load_model, spec_from_dict

MISMATCH_EXIT_CODE = 5  # what `allocator verify` exits with when a check fails
# Where the files were and which software ran: reported when they differ, never failed.
INFORMATIONAL = frozenset({"model_file", "model_file_absolute", "data_file", "versions",
                           "solver_version"})
TIME_SUFFIXES = ("_at", "time", "timestamp", "date")  # timestamps, whatever the field
HASHES = frozenset({"model_sha256", "data_sha256"})  # compared as the "model/data file" checks
OVERRIDES = {"weights": dict, "cap": int, "solver": str, "rounding": str, "group_totals": dict}
_MISSING = object()


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
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{path}: cannot read ({' '.join(str(exc).split())})") from None
    if not isinstance(record, dict) or "model" not in record:
        raise InputError(f"{path}: no 'model' recorded; cannot verify this folder")
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


def _model_path(record: dict, model: Path | None) -> str | None:
    """The model file to re-run, as the run named it when it is still there."""
    if model is not None:
        if not Path(model).is_file():
            raise InputError(f"{model}: model file not found")
        return str(model)
    for key in ("model_file", "model_file_absolute"):
        value = record.get(key)
        if isinstance(value, str) and value and Path(value).is_file():
            return value
    return None


def _overrides(record: dict) -> tuple[dict, str | None]:
    """The recorded command-line overrides, checked, or a reason they cannot be used."""
    given: Any = record.get("overrides", _MISSING)
    if given is _MISSING:
        return {}, "missing from run.json"
    if not isinstance(given, dict):
        return {}, f"not a table of overrides ({_short(given)})"
    for key, value in given.items():
        if key not in OVERRIDES:
            return {}, f"unknown override '{key}'"
        if not _valid_override(key, value):
            return {}, f"'{key}' has the wrong type ({_short(value)})"
    return given, None


def _valid_override(key: str, value: Any) -> bool:
    if key in ("weights", "group_totals"):
        number = int if key == "group_totals" else int | float
        return isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, number) and not isinstance(v, bool)
            for k, v in value.items())
    return not isinstance(value, bool) and isinstance(value, OVERRIDES[key])


def _short(value, width: int = 60) -> str:
    text = "(missing)" if value is _MISSING else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[:width - 3] + "..."


def _same(recorded, fresh) -> bool:
    """Equal values of the same JSON type; floats to 1e-9 relative (a re-solve may differ in the
    last digits)."""
    if isinstance(recorded, bool) or isinstance(fresh, bool):
        return recorded is fresh
    if isinstance(recorded, int | float) and isinstance(fresh, int | float):
        if isinstance(recorded, int) and isinstance(fresh, int):
            return recorded == fresh
        return math.isclose(recorded, fresh, rel_tol=1e-9, abs_tol=1e-12)
    return type(recorded) is type(fresh) and recorded == fresh


def _differences(recorded, fresh, where: str) -> Iterator[tuple[str, object, object]]:
    """(path, recorded, fresh) for every leaf where the two records differ."""
    if isinstance(recorded, dict) and isinstance(fresh, dict):
        for key in [*fresh, *(k for k in recorded if k not in fresh)]:
            yield from _differences(recorded.get(key, _MISSING), fresh.get(key, _MISSING),
                                    f"{where}.{key}" if where else str(key))
    elif isinstance(recorded, list) and isinstance(fresh, list) and len(recorded) == len(fresh):
        for k, (old, new) in enumerate(zip(recorded, fresh, strict=True)):
            yield from _differences(old, new, f"{where}[{k}]")
    elif not _same(recorded, fresh):
        yield where, recorded, fresh


def _same_type(recorded, fresh) -> bool:
    """Both present and of one JSON type (a path or version may differ, not its type)."""
    return recorded is not _MISSING and fresh is not _MISSING and type(recorded) is type(fresh)


def _informational(key: str) -> bool:
    return key in INFORMATIONAL or key.endswith(TIME_SUFFIXES)


def _compare_record(record: dict, fresh: dict) -> list[Check]:
    """One failed check per field of ``run.json`` that a fresh run does not reproduce, one
    check for all that match, and one that reports the informational fields."""
    checks, moved, compared = [], [], 0
    for key in [*fresh, *(k for k in record if k not in fresh)]:
        if key in HASHES:
            continue
        found = list(_differences(record.get(key, _MISSING), fresh.get(key, _MISSING), key))
        if _informational(key) and all(_same_type(old, new) for _, old, new in found):
            moved += [f"{where} {_short(old, 40)} -> {_short(new, 40)}"
                      for where, old, new in found]
            continue
        compared += 1
        if not found:
            continue
        where, old, new = found[0]
        if old is _MISSING and where == key:
            detail = "missing from run.json"
        elif new is _MISSING and where == key:
            detail = "not a field of a run record"
        else:
            more = f" (and {len(found) - 1} more differences)" if len(found) > 1 else ""
            at = f"at {where}: " if where != key else ""
            detail = f"{at}recorded {_short(old)}, a fresh run gives {_short(new)}{more}"
        checks.append(Check(f"run.json {key}", False, detail))
    if not checks:
        checks.append(Check("run.json", True, f"all {compared} recorded fields match a fresh "
                                              "run"))
    checks.append(Check("paths and versions", True, "as recorded" if not moved else
                        "changed since the run (not checked): " + "; ".join(moved)))
    return checks


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


def _allocation_check(folder: Path, new_text: str) -> Check:
    old_path = folder / "allocation.csv"
    if not old_path.is_file():
        return Check("allocation.csv", False, f"{old_path} not found")
    try:
        same = old_path.read_bytes() == new_text.encode("utf-8")
    except OSError:
        same = False
    return Check("allocation.csv", same, "identical to a fresh run" if same else
                 _compare_tables(old_path, new_text))


def _data_check(path: Path, recorded) -> Check:
    if not path.is_file():
        return Check("data file", False, f"{path} not found")
    same = isinstance(recorded, str) and _sha256(path) == recorded
    return Check("data file", same, f"{path} " + ("unchanged" if same else
                                                   "has changed since the run"))


def _from_recorded_model(folder: Path, record: dict, checks: list[Check]) -> Verification:
    """Without the model file only the recorded model can be re-run (the verdict fails anyway)."""
    from allocator.outputs.runfiles import allocation_csv
    from allocator.pipeline.allocate import allocate

    recorded_file = record.get("model_file")
    source = recorded_file if isinstance(recorded_file, str) and recorded_file else \
        str(folder / "model.toml")
    try:
        spec = spec_from_dict(record["model"], source)
    except InputError as exc:
        return Verification(folder, (*checks, Check("recorded model", False, str(exc))))
    checks.append(_data_check(spec.data_path(), record.get("data_sha256")))
    if checks[-1].detail.endswith("not found"):
        return Verification(folder, tuple(checks))
    try:
        checks.append(_allocation_check(folder, allocation_csv(allocate(spec))))
    except AllocatorError as exc:
        checks.append(Check("re-run", False, str(exc)))
    return Verification(folder, tuple(checks))


def verify(folder: str | Path, *, model: str | Path | None = None) -> Verification:
    """Re-derive ``folder`` from the model file and data on disk and compare everything.

    ``model`` points at the model file when it has moved since the run (paths in ``run.json``
    are as given on the command line). Raises :class:`InputError` when the folder has no
    ``run.json`` with a recorded model; every other difference is a failed :class:`Check`.
    """
    from allocator.outputs.runfiles import allocation_csv, run_record
    from allocator.pipeline.allocate import allocate

    folder = Path(folder)
    record = _read_record(folder)
    model_path = _model_path(record, Path(model) if model else None)
    if model_path is None:
        named = record.get("model_file")
        shown = named if isinstance(named, str) and named else "the model file"
        return _from_recorded_model(folder, record, [Check(
            "model file", False, f"{shown} not found (run from the folder the run was made in, "
                                 "or give the model file)")])
    recorded_hash = record.get("model_sha256")
    same = isinstance(recorded_hash, str) and _sha256(Path(model_path)) == recorded_hash
    checks = [Check("model file", same, f"{model_path} " + (
        "unchanged" if same else "has changed since the run (it is re-run as it is now)"))]
    try:
        spec = load_model(model_path)
    except InputError as exc:
        return Verification(folder, (*checks, Check("re-run", False, str(exc))))
    checks.append(_data_check(spec.data_path(), record.get("data_sha256")))
    overrides, problem = _overrides(record)
    if problem is not None:
        return Verification(folder, (*checks, Check("run.json overrides", False, problem)))
    try:
        result = allocate(model_path, **overrides)
    except AllocatorError as exc:
        return Verification(folder, (*checks, Check("re-run", False, str(exc))))
    shown = ", ".join(f"{k} {_short(v)}" for k, v in overrides.items()) or "none"
    checks.append(Check("re-run", True, f"{model_path} with the recorded overrides: {shown}"))
    fresh = json.loads(json.dumps(run_record(result), ensure_ascii=False))
    checks += _compare_record(record, fresh)
    checks.append(_allocation_check(folder, allocation_csv(result)))
    return Verification(folder, tuple(checks))
