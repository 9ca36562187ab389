"""The verdict of ``allocator verify`` and the comparison of a folder's record (``run.json``,
``study.json``) with the record a fresh run writes, field by field.

Fields that say *where* the files were and *which software* ran (``model_file``,
``model_file_absolute``, ``data_file``, ``versions``, ``solver_version``, and any timestamp) are
reported when their values differ, not failed: a folder moved to another machine still verifies
(a missing one, or one of another type, fails).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MISMATCH_EXIT_CODE = 5  # what `allocator verify` exits with when a check fails
# Where the files were and which software ran: reported when they differ, never failed.
INFORMATIONAL = frozenset({"model_file", "model_file_absolute", "data_file", "versions",
                           "solver_version", "matrix", "matrix_absolute"})
TIME_SUFFIXES = ("_at", "time", "timestamp", "date")  # timestamps, whatever the field
# Compared as the "model file", "data file" and "matrix file" checks, not as fields.
HASHES = frozenset({"model_sha256", "data_sha256", "matrix_sha256"})
MISSING = object()


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


def short(value, width: int = 60) -> str:
    text = "(missing)" if value is MISSING else json.dumps(value, ensure_ascii=False)
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
            yield from _differences(recorded.get(key, MISSING), fresh.get(key, MISSING),
                                    f"{where}.{key}" if where else str(key))
    elif isinstance(recorded, list) and isinstance(fresh, list) and len(recorded) == len(fresh):
        for k, (old, new) in enumerate(zip(recorded, fresh, strict=True)):
            yield from _differences(old, new, f"{where}[{k}]")
    elif not _same(recorded, fresh):
        yield where, recorded, fresh


def _same_type(recorded, fresh) -> bool:
    """Both present and of one JSON type (a path or version may differ, not its type)."""
    return recorded is not MISSING and fresh is not MISSING and type(recorded) is type(fresh)


def _informational(key: str) -> bool:
    return key in INFORMATIONAL or key.endswith(TIME_SUFFIXES)


def compare_record(name: str, record: dict, fresh: dict) -> list[Check]:
    """One failed check per field of the record ``name`` (``run.json``, ``study.json``) that a
    fresh run does not reproduce, one check for all that match, and one that reports the
    informational fields.

    >>> [c.ok for c in compare_record("run.json", {"cap": 10, "versions": {}}, {"cap": 10,
    ...                                                                     "versions": {}})]
    [True, True]
    >>> compare_record("run.json", {"cap": 11}, {"cap": 10})[0].detail
    'recorded 11, a fresh run gives 10'
    """
    checks, moved, compared = [], [], 0
    for key in [*fresh, *(k for k in record if k not in fresh)]:
        if key in HASHES:
            continue
        found = list(_differences(record.get(key, MISSING), fresh.get(key, MISSING), key))
        if _informational(key) and all(_same_type(old, new) for _, old, new in found):
            moved += [f"{where} {short(old, 40)} -> {short(new, 40)}"
                      for where, old, new in found]
            continue
        compared += 1
        if not found:
            continue
        where, old, new = found[0]
        if old is MISSING and where == key:
            detail = "missing from run.json"
        elif new is MISSING and where == key:
            detail = f"not a field of a {name.removesuffix('.json')} record"
        else:
            more = f" (and {len(found) - 1} more differences)" if len(found) > 1 else ""
            at = f"at {where}: " if where != key else ""
            detail = f"{at}recorded {short(old)}, a fresh run gives {short(new)}{more}"
        checks.append(Check(f"{name} {key}", False, detail))
    if not checks:
        checks.append(Check(name, True, f"all {compared} recorded fields match a fresh run"))
    checks.append(Check("paths and versions", True, "as recorded" if not moved else
                        "changed since the run (not checked): " + "; ".join(moved)))
    return checks
