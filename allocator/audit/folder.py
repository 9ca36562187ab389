"""Verify an output folder by writing it again from the files on disk and comparing everything.

Every folder the tool writes records how it was made: ``run.json`` for a run, a report and a
transition plan (the model as used, the overrides, the hashes of the model and data files, and
what the command added: a report's formats, language, explained unit and date; a plan's
settings), ``study.json`` for a sensitivity study and derived weights (the model file and its
hashes, the overrides, the method and its options, the language). :func:`verify` trusts none of
the results in them: it re-runs the model *file* with the recorded settings into a temporary
folder, then compares

- the hashes of the model, data (and AHP matrix) files with the recorded ones;
- the record with the fresh one, field by field (:func:`~allocator.audit.records.compare_record`);
- every file the folder's manifest lists with the fresh file, table cell by table cell
  (:func:`~allocator.audit.files.compare_file`): a changed cell is named by file, row and column.

Files the tool did not write (not in the folder's manifest) are listed, not checked.
A folder without a readable record is an input error; any other damage is a failed check
(exit code 5 on the command line).

>>> import pathlib, tempfile
>>> from allocator import allocate
>>> from allocator.outputs.runfiles import write_result
>>> out = write_result(allocate("models/harbin_2020.toml"), pathlib.Path(tempfile.mkdtemp()) / "h")
>>> verify(out).ok
True
"""

from __future__ import annotations

import datetime
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocator.audit.files import compare_file
from allocator.audit.records import MISSING, Check, Verification, compare_record, short
from allocator.errors import AllocatorError, InputError
from allocator.outputs.folders import MANIFEST, read_manifest
from allocator.outputs.runfiles import sha256_or_none
from allocator.overrides import Overrides
from allocator.schema import ModelSpec, load_model, spec_from_dict

RUN_RECORD = "run.json"
STUDY_RECORD = "study.json"
OVERRIDE_TYPES = {"weights": dict, "cap": int, "solver": str, "rounding": str,
                  "group_totals": dict}


@dataclass(frozen=True)
class _Recorded:
    """A folder's record: its file name, its contents and the kind of folder it describes."""

    name: str
    data: dict
    kind: str  # run, report, transition, sensitivity, weights

    @property
    def runs_a_model(self) -> bool:
        """Whether the record holds the whole model as used (a run, a report, a plan)."""
        return self.name == RUN_RECORD


def _read_record(folder: Path) -> _Recorded:
    if not folder.is_dir():
        raise InputError(f"{folder}: no such output folder")
    name = STUDY_RECORD if (folder / STUDY_RECORD).is_file() else RUN_RECORD
    path = folder / name
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{folder}: no run.json or study.json; is it an allocator output "
                         "folder?") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{path}: cannot read ({' '.join(str(exc).split())})") from None
    if not isinstance(record, dict) or "model" not in record:
        raise InputError(f"{path}: no 'model' recorded; cannot verify this folder")
    if name == RUN_RECORD and not isinstance(record["model"], dict):
        raise InputError(f"{path}: 'model' is not a table of settings; cannot verify this folder")
    if name == STUDY_RECORD:
        kind = record.get("command")
        if kind not in ("sensitivity", "weights"):
            raise InputError(f"{path}: 'command' is {short(kind if kind is not None else MISSING)}"
                             ", not sensitivity or weights; cannot verify this folder")
    elif record.get("command") == "transition":
        kind = "transition"
    else:
        kind = "report" if "report" in record else "run"
    return _Recorded(name, record, kind)


def _recorded_file(record: dict, keys: tuple[str, ...]) -> str | None:
    """The first of the recorded paths ``keys`` that is still a file."""
    for key in keys:
        value = record.get(key)
        if isinstance(value, str) and value and Path(value).is_file():
            return value
    return None


def _model_path(record: dict, model: Path | None) -> str | None:
    """The model file to re-run, as the run named it when it is still there."""
    if model is not None:
        if not Path(model).is_file():
            raise InputError(f"{model}: model file not found")
        return str(model)
    return _recorded_file(record, ("model_file", "model_file_absolute"))


def _file_check(what: str, path: Path | str, recorded: Any, *, changed: str) -> Check:
    """Whether a file is there and has the recorded hash."""
    path = Path(path)
    if not path.is_file():
        return Check(what, False, f"{path} not found")
    if not isinstance(recorded, str):
        return Check(what, False, f"{path}: no hash recorded (a folder of an earlier version?), "
                                  "so it cannot be checked")
    same = isinstance(recorded, str) and sha256_or_none(path) == recorded
    return Check(what, same, f"{path} " + ("unchanged" if same else changed))


def _overrides(record: dict, name: str) -> tuple[dict, Check | None]:
    """The recorded overrides, checked, or the failed check that says why they cannot be used."""
    given: Any = record.get("overrides", MISSING)
    problem = None
    if given is MISSING:
        problem = "missing"
    elif not isinstance(given, dict):
        problem = f"not a table of overrides ({short(given)})"
    else:
        for key, value in given.items():
            if key not in OVERRIDE_TYPES:
                problem = f"unknown override '{key}'"
            elif not _valid_override(key, value):
                problem = f"'{key}' has the wrong type ({short(value)})"
            if problem:
                break
    if problem is None:
        return given, None
    return {}, Check(f"{name} overrides", False, problem)


def _valid_override(key: str, value: Any) -> bool:
    if key in ("weights", "group_totals"):
        number = int if key == "group_totals" else int | float
        return isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, number) and not isinstance(v, bool)
            for k, v in value.items())
    return not isinstance(value, bool) and isinstance(value, OVERRIDE_TYPES[key])


# ---- Writing the folder again ----------------------------------------------------------------


def _write_run(model: str | ModelSpec, record: dict, overrides: dict, out: Path) -> None:
    from allocator.outputs.runfiles import write_result
    from allocator.pipeline.allocate import allocate

    write_result(allocate(model, **overrides), out)


def _write_report(model: str | ModelSpec, record: dict, overrides: dict, out: Path) -> None:
    from allocator.report.write import ReportOptions, write_report

    settings = record["report"]
    formats = tuple(_strings(settings["formats"]))
    options = ReportOptions(formats=formats, charts=_charts(settings, formats),
                            lang=_string(settings["lang"]),
                            explain=_optional_string(settings["explain"]),
                            date=datetime.date.fromisoformat(_string(settings["date"])),
                            overrides=Overrides(**overrides))
    write_report(model, out, options)


def _write_transition(model: str | ModelSpec, record: dict, overrides: dict, out: Path) -> None:
    from allocator.outputs.transition import write_transition
    from allocator.pipeline.transition import plan_transition
    from allocator.report.transition import TransitionReportOptions, write_transition_report

    settings = record["transition"]["settings"]
    if not isinstance(settings, dict):
        raise TypeError("transition.settings is not a table")
    plan = plan_transition(model, settings, allow_unfinished=True,
                           overrides=Overrides(**overrides))
    if "report" not in record:  # the plan's files alone (the library's write_transition)
        write_transition(plan, out)
        return
    documents = record["report"]
    formats = tuple(_strings(documents["formats"]))
    write_transition_report(plan, out, TransitionReportOptions(
        formats=formats, charts=_charts(documents, formats), lang=_string(documents["lang"]),
        date=datetime.date.fromisoformat(_string(documents["date"]))))


def _charts(settings: dict, formats: tuple[str, ...]) -> bool:
    """Whether the documents were written with charts: as recorded; a folder of an earlier
    version, which does not record it, drew them when it wrote a chart format (its record then
    differs from the fresh one, which says so)."""
    from allocator.choices import OutputFormat

    if "charts" in settings:
        return bool(_flag(settings["charts"]))
    return any(f in OutputFormat.charts() for f in formats)


def _write_sensitivity(model: str | ModelSpec, record: dict, overrides: dict, out: Path) -> None:
    from allocator.report.studies import SensitivityOptions, run_study
    from allocator.studies.montecarlo import MonteCarloOptions

    settings = record["options"]
    method = _string(record["method"])
    common = {"charts": _flag(record["charts"]), "top": _integer(record["top"]),
              "lang": _string(record["lang"]), "overrides": Overrides(**overrides)}
    if method == "sweep":
        options = SensitivityOptions(
            method=method, indicator=_string(settings["indicator"]),
            start=_number(settings["start"]), stop=_number(settings["stop"]),
            steps=_integer(settings["steps"]), **common)
    elif method == "oat":
        options = SensitivityOptions(method=method, delta=_number(settings["delta"]), **common)
    else:
        uniform = _flag(settings["uniform"])
        concentration = MonteCarloOptions.concentration if uniform else \
            _number(settings["concentration"])
        mc = MonteCarloOptions(samples=_integer(settings["samples"]),
                               concentration=concentration, uniform=uniform,
                               seed=_integer(settings["seed"]),
                               confidence=_number(settings["confidence"]))
        options = SensitivityOptions(method=method, montecarlo=mc,
                                     save_samples=_flag(settings["save_samples"]), **common)
    run_study(model, options, out)


def _write_weights(model: str | ModelSpec, record: dict, overrides: dict, out: Path) -> None:
    from allocator.report.studies import WeightsOptions, write_derived_weights

    samples = _integer(record["samples"])
    settings = record.get("options", {}) if samples > 0 else {}
    matrix = _recorded_file(record, ("matrix", "matrix_absolute"))
    options = WeightsOptions(
        method=_string(record["method"]), matrix=Path(matrix) if matrix else None,
        accept_inconsistent=_flag(record["accept_inconsistent"]), samples=samples,
        concentration=_number(settings.get("concentration", WeightsOptions.concentration)),
        seed=_integer(settings.get("seed", WeightsOptions.seed)),
        charts=_flag(record["charts"]), lang=_string(record["lang"]))
    write_derived_weights(model, options, out)


KIND_NAMES = {"run": "run", "report": "report", "transition": "transition plan",
              "sensitivity": "sensitivity study", "weights": "weights study"}
WRITERS: dict[str, Callable[[str | ModelSpec, dict, dict, Path], None]] = {
    "run": _write_run, "report": _write_report, "transition": _write_transition,
    "sensitivity": _write_sensitivity, "weights": _write_weights}


def _typed(kind: type | tuple[type, ...], what: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            raise TypeError(f"{short(value)} is not {what}")
        return value
    return check


_string = _typed(str, "text")
_flag = _typed(bool, "true or false")
_integer = _typed(int, "a whole number")
_number = _typed((int, float), "a number")


def _optional_string(value: Any) -> str | None:
    return None if value is None else _string(value)


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise TypeError(f"{short(value)} is not a list")
    return [_string(v) for v in value]


# ---- Comparing the files ---------------------------------------------------------------------


def _compare_files(folder: Path, fresh: Path, record_name: str) -> list[Check]:
    """A failed check for each file that differs from its fresh copy, is missing, or is listed
    as the tool's but not written afresh; one check for all that match; one that lists the
    files the tool did not write."""
    written = sorted(p.name for p in fresh.iterdir() if p.name not in (MANIFEST, record_name))
    manifest = read_manifest(folder)
    listed: list[str] | None = manifest["files"] if manifest else None
    present = {p.name for p in folder.iterdir()}
    checks, same = [], 0
    for name in written:
        if name not in present:
            checks.append(Check(name, False, "missing (a fresh run writes it)"))
            continue
        try:
            found = compare_file(name, folder / name, fresh / name)
        except OSError as exc:
            found = f"cannot be read ({exc.strerror or exc})"
        if found is None:
            same += 1
        else:
            checks.append(Check(name, False, found))
    for name in listed or []:
        if name not in written and name != record_name:
            state = "" if name in present else " (and it is missing)"
            checks.append(Check(name, False, "listed as written by allocator, but the recorded "
                                             "settings do not write it (a folder of an earlier "
                                             f"version records less: write it again){state}"))
    if same:
        noun = "file holds" if same == 1 else "files hold"
        checks.append(Check("other files" if checks else "files", True,
                            f"{same} {noun} what a fresh run writes"))
    ours = set(written) | set(listed or []) | {record_name, MANIFEST}
    others = sorted(present - ours)
    if others:
        checks.append(Check("files not written by allocator", True,
                            "not checked: " + ", ".join(others)))
    return checks


def _rewrite(kind: str, model: str | ModelSpec, record: dict, overrides: dict,
             folder: Path) -> tuple[Path | None, tempfile.TemporaryDirectory | None, Check]:
    """Write the folder again into a temporary directory: its path and the re-run's check."""
    scratch = tempfile.TemporaryDirectory(prefix="allocator-verify-")
    out = Path(scratch.name) / folder.name
    try:
        WRITERS[kind](model, record, overrides, out)
    except AllocatorError as exc:
        scratch.cleanup()
        return None, None, Check("re-run", False, str(exc))
    except (KeyError, TypeError, ValueError) as exc:
        scratch.cleanup()
        what = f"'{exc.args[0]}' missing" if isinstance(exc, KeyError) else str(exc)
        return None, None, Check("recorded settings", False, f"cannot be used: {what}")
    shown = ", ".join(f"{k} {short(v)}" for k, v in overrides.items()) or "none"
    source = model if isinstance(model, str) else "the recorded model"
    return out, scratch, Check("re-run", True, f"{source} as a {KIND_NAMES[kind]}, with the recorded "
                                               f"overrides: {shown}")


def verify(folder: str | Path, *, model: str | Path | None = None) -> Verification:
    """Write ``folder`` again from the model file and data on disk and compare everything.

    ``model`` points at the model file when it has moved since the run (paths in the record are
    as given on the command line). Raises :class:`InputError` when the folder has no readable
    ``run.json`` or ``study.json``; every other difference is a failed :class:`Check`.
    """
    folder = Path(folder)
    recorded = _read_record(folder)
    record = recorded.data
    checks: list[Check] = []
    model_path = _model_path(record, Path(model) if model else None)
    source: str | ModelSpec
    if model_path is None:
        named = record.get("model_file")
        shown = named if isinstance(named, str) and named else "the model file"
        checks.append(Check("model file", False, f"{shown} not found (run from the folder the "
                                                 "run was made in, or give the model file)"))
        if not recorded.runs_a_model:
            return Verification(folder, tuple(checks))
        try:  # only the recorded model (with its overrides applied) can be re-run
            source = spec_from_dict(record["model"], str(folder / "model.toml"))
        except InputError as exc:
            return Verification(folder, (*checks, Check("recorded model", False, str(exc))))
        overrides: dict = {}
        data = source.data_path()
    else:
        checks.append(_file_check("model file", model_path, record.get("model_sha256"),
                                  changed="has changed since the run (it is re-run as it is now)"))
        try:
            source = model_path
            spec = load_model(model_path)
        except InputError as exc:
            return Verification(folder, (*checks, Check("re-run", False, str(exc))))
        overrides, problem = _overrides(record, recorded.name) if recorded.kind != "weights" \
            else ({}, None)
        if problem is not None:
            checks.append(_file_check("data file", spec.data_path(), record.get("data_sha256"),
                                      changed="has changed since the run"))
            return Verification(folder, (*checks, problem))
        data = spec.data_path()
    checks.append(_file_check("data file", data, record.get("data_sha256"),
                              changed="has changed since the run"))
    if model_path is None and not data.is_file():
        return Verification(folder, tuple(checks))
    if recorded.kind == "weights" and record.get("matrix") is not None:
        matrix = _recorded_file(record, ("matrix", "matrix_absolute")) or str(record["matrix"])
        checks.append(_file_check("matrix file", matrix, record.get("matrix_sha256"),
                                  changed="has changed since the run"))
    fresh, scratch, rerun = _rewrite(recorded.kind, source, record, overrides, folder)
    checks.append(rerun)
    if fresh is None or scratch is None:
        return Verification(folder, tuple(checks))
    with scratch:
        if model_path is not None:
            try:
                fresh_record = json.loads((fresh / recorded.name).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:  # the tool writes it; its absence is a bug
                raise AllocatorError(f"{fresh / recorded.name}: {exc}") from exc
            checks += compare_record(recorded.name, record, fresh_record)
        checks += _compare_files(folder, fresh, recorded.name)
    return Verification(folder, tuple(checks))
