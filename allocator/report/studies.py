"""Study folders: the sensitivity and weights commands' CSV files and charts, written together.

A study is computed first (:mod:`allocator.studies`), then every file is written from its result
into a folder that replaces the output folder whole. The one file that grows with the number of
scenarios, ``montecarlo_samples.csv``, is streamed while the Monte Carlo study runs, into the
staging folder (:func:`allocator.outputs.folders.staged_folder`).

>>> import tempfile
>>> out = run_study("models/harbin_2020.toml", SensitivityOptions(method="oat", charts=False),
...                 Path(tempfile.mkdtemp()) / "oat")       # from the repository root
>>> out.files, (out.out_dir / "oat.csv").exists()
(('oat.csv', 'study.json'), True)
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.choices import Language, StudyMethod, WeightingMethod
from allocator.choices import names as choice_names
from allocator.errors import InputError, did_you_mean
from allocator.outputs.cells import FLOAT_FORMAT, neutralise, neutralise_frame
from allocator.outputs.folders import staged_folder, write_files
from allocator.outputs.runfiles import inputs_record, sha256_or_none, versions_record
from allocator.overrides import Overrides
from allocator.report.labels import WEIGHTING_NAMES, ModelWords, model_words
from allocator.report.model import T
from allocator.schema import Bilingual, ModelSpec, load_model
from allocator.studies.batch import FastAllocator, StudyModel, fast_allocator
from allocator.studies.montecarlo import (
    ChunkSink,
    MonteCarloOptions,
    MonteCarloResult,
    Progress,
    montecarlo,
)
from allocator.studies.oneway import OatResult, SweepResult, oat, sweep, sweep_values
from allocator.studies.weights import DerivedWeights, derive_weights

Writer = Callable[[Path], None]
StudyResult = SweepResult | OatResult | MonteCarloResult

SAMPLES = "montecarlo_samples.csv"
NOTES = "notes.txt"  # the note on current posts, where a study compares with them
CSV_ENCODING = "utf-8-sig"  # with a BOM: Excel opens UTF-8 CSV correctly only with one
RECORD = "study.json"  # how the study was made: model, overrides, the weights at its centre
FILES = {  # the files of each study, in the order they are listed; charts end in .png
    StudyMethod.SWEEP: ("sweep.csv", "sweep.png"),
    StudyMethod.OAT: ("oat.csv", "tornado.png"),
    StudyMethod.MONTECARLO: ("montecarlo_summary.csv", "montecarlo_indices.csv",
                             "montecarlo_bands.png"),
}


# --------------------------------------------------------------------------------------------
# The samples file: one row per scenario, streamed
# --------------------------------------------------------------------------------------------


def samples_header(names: tuple[str, ...], ids: tuple[str, ...]) -> str:
    """Header of ``montecarlo_samples.csv``: scenario, w_<indicator>..., <unit id>...

    >>> samples_header(("a", "b"), ("=1", "x,y"))
    'scenario,w_a,w_b,\\'=1,"x,y"\\n'
    """
    cells = ["scenario", *(f"w_{n}" for n in names), *(str(neutralise(i)) for i in ids)]
    return ",".join(_csv_cell(c) for c in cells) + "\n"


def _csv_cell(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


def samples_rows(first: int, w: np.ndarray, posts: np.ndarray) -> str:
    """Rows of scenarios ``first``, ``first + 1``, ...: number, weights, posts of each unit.

    Weights carry 17 significant digits: feeding them back reproduces the scenario exactly.

    >>> samples_rows(7, np.array([[0.1, 0.9]]), np.array([[3, 4]]))
    '7,0.1,0.9,3,4\\n'
    """
    lines = []
    for r in range(w.shape[0]):
        weights = ",".join(repr(float(v)) for v in w[r])
        lines.append(f"{first + r},{weights},{','.join(map(str, posts[r].tolist()))}\n")
    return "".join(lines)


@contextlib.contextmanager
def samples_file(path: Path, names: tuple[str, ...], ids: tuple[str, ...]
                 ) -> Iterator[ChunkSink]:
    """Open ``path`` for ``montecarlo_samples.csv`` and yield the sink that fills it:
    ``montecarlo(..., on_chunk=sink)``."""
    with open(path, "w", encoding=CSV_ENCODING, newline="") as handle:
        handle.write(samples_header(names, ids))

        def sink(first: int, w: np.ndarray, posts: np.ndarray) -> None:
            handle.write(samples_rows(first, w, posts))

        yield sink


def montecarlo_to_file(model: StudyModel, options: MonteCarloOptions, path: Path, *,
                       progress: Progress | None = None) -> MonteCarloResult:
    """:func:`allocator.studies.montecarlo.montecarlo` with every scenario written to ``path``."""
    fast = fast_allocator(model)
    with samples_file(path, fast.names, fast.problem.ids) as sink:
        return montecarlo(fast, options, on_chunk=sink, progress=progress)


# --------------------------------------------------------------------------------------------
# Sensitivity folders
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SensitivityOptions:
    """Everything ``allocator sensitivity`` needs, bundled."""

    method: str = StudyMethod.MONTECARLO
    indicator: str | None = None
    start: float = 0.0
    stop: float = 1.0
    steps: int = 11
    delta: float = 0.05
    montecarlo: MonteCarloOptions = MonteCarloOptions()
    save_samples: bool = False
    rounding: str | None = None
    charts: bool = True
    top: int = 15
    overrides: Overrides = Overrides()  # as for a run: the study's centre is that run's weights
    lang: str = Language.ZH.value


@dataclass(frozen=True, eq=False)
class StudyOutput:
    """What a study wrote, the result behind it, and notes for the reader (in English)."""

    out_dir: Path
    files: tuple[str, ...]
    result: StudyResult
    notes: tuple[str, ...] = ()


def compares_with_actual(method: str) -> bool:
    """Whether a study's files compare allocations with current posts (sweep: difference;
    Monte Carlo: diff_*, share_*_actual, verdict and the crosses of the band chart)."""
    return method in (StudyMethod.SWEEP, StudyMethod.MONTECARLO)


def study_files(options: SensitivityOptions, *, with_actual: bool = False) -> tuple[str, ...]:
    """The files a study writes, in the order they are listed; ``notes.txt`` (the note on
    current posts) when the model has them (``with_actual``) and the study compares with them.

    >>> study_files(SensitivityOptions(save_samples=True, charts=False))
    ('montecarlo_samples.csv', 'montecarlo_summary.csv', 'montecarlo_indices.csv', 'study.json')
    >>> study_files(SensitivityOptions(method="sweep"), with_actual=True)
    ('sweep.csv', 'sweep.png', 'notes.txt', 'study.json')
    """
    names = tuple(n for n in FILES[_method(options)] if options.charts or not n.endswith(".png"))
    if with_actual and compares_with_actual(options.method):
        names += (NOTES,)
    return (SAMPLES, *names, RECORD) if _streams(options) else (*names, RECORD)


def actual_caveat(words: ModelWords) -> T | None:
    """The note on current posts for a study folder (None when the model has none)."""
    if words.actual_note is None:
        return None
    return T(f"注：{words.actual_note.zh}本文件夹各CSV文件和图表中与现有编制数的比较（现有编制数、"
             "差额、超编或缺编的判断）均基于这些数据，解读时请注意。",
             f"Note: {words.actual_note.en} Every comparison with current posts in this folder "
             "(the actual, difference, diff_*, share_*_actual and verdict columns, and the "
             "crosses of the band chart) rests on these figures.")

def _method(options: SensitivityOptions) -> StudyMethod:
    methods = choice_names(StudyMethod)
    if options.method not in methods:
        raise InputError(f"method '{options.method}': use one of {', '.join(methods)}"
                         f"{did_you_mean(options.method, methods)}")
    return StudyMethod(options.method)


def _streams(options: SensitivityOptions) -> bool:
    return options.method == StudyMethod.MONTECARLO and options.save_samples


def _checked(model: StudyModel, options: SensitivityOptions) -> FastAllocator:
    """The model prepared for the study, once the options are known to work."""
    _method(options)
    _check_lang(options.lang)
    if options.method == StudyMethod.SWEEP:
        sweep_values(options.start, options.stop, options.steps)
    fast = fast_allocator(model, options.rounding, overrides=options.overrides)
    if options.method == StudyMethod.SWEEP:
        if options.indicator is None:
            raise InputError("a sweep needs an indicator")
    elif options.method == StudyMethod.MONTECARLO:
        options.montecarlo.check()
    return fast


def compute_study(fast: FastAllocator, options: SensitivityOptions, *,
                  on_chunk: ChunkSink | None = None, progress: Progress | None = None
                  ) -> StudyResult:
    """Run the study ``options`` describes (``on_chunk``/``progress``: Monte Carlo only)."""
    if options.method == StudyMethod.SWEEP:
        assert options.indicator is not None  # checked by _checked
        return sweep(fast, options.indicator,
                     sweep_values(options.start, options.stop, options.steps))
    if options.method == StudyMethod.OAT:
        return oat(fast, options.delta)
    return montecarlo(fast, options.montecarlo, on_chunk=on_chunk, progress=progress)


def _csv_writer(frame: pd.DataFrame) -> Writer:
    """A writer of ``frame`` as CSV in UTF-8 with BOM: text neutralised, whole posts whole."""
    frame = neutralise_frame(frame)  # every text cell, e.g. label_en and indicator names too
    for column in frame.columns:  # whole posts print as whole numbers
        values = frame[column]
        if (column in ("actual", "difference") or column.startswith("diff_")) \
                and values.dtype.kind == "f" and (values.dropna() % 1 == 0).all():
            frame[column] = values.round().astype("Int64")
    return _text_writer(frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n"),
                        newline="", encoding=CSV_ENCODING)


def _text_writer(text: str, newline: str | None = None, encoding: str = "utf-8") -> Writer:
    def write(path: Path) -> None:
        path.write_text(text, encoding=encoding, newline=newline)

    return write


def _chart(result: StudyResult, words: ModelWords, lang: str, top: int) -> Writer:
    def write(path: Path) -> None:  # matplotlib is imported only when a chart is drawn
        from allocator.report.study_charts import band_chart, study_text, sweep_chart, tornado_chart

        draw = (sweep_chart if isinstance(result, SweepResult)
                else tornado_chart if isinstance(result, OatResult) else band_chart)
        draw(result, study_text(words, lang), path, top=top)

    return write


def _check_lang(lang: str) -> None:
    if lang not in choice_names(Language):
        raise InputError(f"language '{lang}': use {' or '.join(choice_names(Language))}")


def _json_writer(record: dict) -> Writer:
    return _text_writer(json.dumps(record, indent=2, ensure_ascii=False) + "\n")


def _json_text(text: str | Bilingual) -> str | dict[str, str]:
    """A display text as ``run.json`` writes it: a string, or ``{"zh": .., "en": ..}``."""
    return text.model_dump() if isinstance(text, Bilingual) else text


def _weights(names: tuple[str, ...], values) -> dict[str, float]:
    return {name: float(v) for name, v in zip(names, values, strict=True)}


def study_record(fast: FastAllocator, options: SensitivityOptions) -> dict:
    """What ``study.json`` holds: the model, the overrides, the weights at the study's centre
    (those of a run with the same overrides), the method and its options, the language."""
    spec = fast.spec
    method = _method(options)
    if method == StudyMethod.SWEEP:
        settings: dict = {"indicator": options.indicator, "start": options.start,
                          "stop": options.stop, "steps": options.steps}
    elif method == StudyMethod.OAT:
        settings = {"delta": options.delta}
    else:
        mc = options.montecarlo
        settings = {"samples": mc.samples, "concentration": None if mc.uniform else
                    mc.concentration, "uniform": mc.uniform, "seed": mc.seed,
                    "confidence": mc.confidence, "save_samples": options.save_samples}
    return {"command": "sensitivity", "method": method.value, "model": _json_text(spec.name),
            **inputs_record(spec), "overrides": fast.overrides.as_dict(),
            "weights_model": _weights(fast.names, fast.model_weights or fast.centre),
            "weights_used": _weights(fast.names, fast.centre), "options": settings,
            "rounding": spec.rounding, "charts": options.charts, "top": options.top,
            "lang": options.lang, "versions": versions_record()}


def study_writers(result: StudyResult, options: SensitivityOptions, words: ModelWords,
                  record: dict | None = None, *, with_actual: bool = False) -> dict[str, Writer]:
    """A writer for each file of :func:`study_files` but the samples file, all from ``result``
    (charts and the note in ``options.lang``; ``study.json`` from ``record``)."""
    chart = _chart(result, words, options.lang, options.top)
    if isinstance(result, SweepResult):
        files = {"sweep.csv": _csv_writer(result.frame()), "sweep.png": chart}
    elif isinstance(result, OatResult):
        files = {"oat.csv": _csv_writer(result.frame()), "tornado.png": chart}
    else:
        files = {"montecarlo_summary.csv": _csv_writer(result.summary),
                 "montecarlo_indices.csv": _csv_writer(result.indices),
                 "montecarlo_bands.png": chart}
    caveat = actual_caveat(words)
    if caveat is not None:
        files[NOTES] = _text_writer(caveat.get(options.lang) + "\n", encoding=CSV_ENCODING)
    if record is not None:
        files[RECORD] = _json_writer(record)
    return {name: files[name] for name in study_files(options, with_actual=with_actual)
            if name in files}


def _notes(words: ModelWords, method: str) -> tuple[str, ...]:
    """The console's notes of a study (English)."""
    caveat = actual_caveat(words)
    return (caveat.en.removeprefix("Note: "),) if caveat and compares_with_actual(method) else ()


def run_study(model: StudyModel, options: SensitivityOptions, out_dir: Path,
              *, progress: Progress | None = None, force: bool = False) -> StudyOutput:
    """Run one sensitivity study and write its CSV files and charts into ``out_dir`` at once.

    Files: ``sweep.csv`` + ``sweep.png``; ``oat.csv`` + ``tornado.png``; or
    ``montecarlo_summary.csv``, ``montecarlo_indices.csv``, ``montecarlo_bands.png`` and, with
    ``save_samples``, ``montecarlo_samples.csv``. Nothing is written if anything fails.
    """
    fast = _checked(model, options)
    words = model_words(fast.spec, fast.table)
    with_actual = fast.table.actual is not None and words.actual_note is not None
    names = study_files(options, with_actual=with_actual)
    result = None
    if not _streams(options):  # computed before any folder is touched
        result = compute_study(fast, options, progress=progress)
    with staged_folder(out_dir, names, force=force, scenario=fast.overrides.tag()) as folder:
        if result is None:
            with samples_file(folder / SAMPLES, fast.names, fast.problem.ids) as sink:
                result = compute_study(fast, options, on_chunk=sink, progress=progress)
        record = study_record(fast, options)
        for name, writer in study_writers(result, options, words, record,
                                          with_actual=with_actual).items():
            writer(folder / name)
    return StudyOutput(Path(out_dir), names, result,
                       _notes(words, options.method) if with_actual else ())


# --------------------------------------------------------------------------------------------
# Weights folders
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightsOptions:
    """What ``allocator weights`` needs: the method, the AHP matrix, and an optional study."""

    method: str = WeightingMethod.ENTROPY
    matrix: Path | None = None
    accept_inconsistent: bool = False
    samples: int = 0
    concentration: float = 50.0
    seed: int = 0
    jobs: int = 1
    charts: bool = True
    lang: str = Language.ZH.value


@dataclass(frozen=True, eq=False)
class WeightsOutput:
    """The derived weights, the files written, the Monte Carlo study around them (if any), and
    notes for the reader (in English)."""

    derived: DerivedWeights
    out_dir: Path
    model_file: Path
    files: tuple[str, ...]
    study: MonteCarloResult | None = None
    notes: tuple[str, ...] = ()


def model_file_text(spec: ModelSpec, weights: dict[str, float], method: str,
                    path: Path) -> str:
    """A model file (TOML) like ``spec`` with ``weights``, its data path relative to ``path``."""
    import tomli_w

    raw = spec.model_dump(mode="json", exclude_none=True)
    how = WEIGHTING_NAMES.get(method, T(method, method))
    if isinstance(spec.name, Bilingual):
        raw["name"] = {"zh": f"{spec.name.zh}（权重：{how.zh}）",
                       "en": f"{spec.name.en} (weights: {how.en})"}
    else:
        raw["name"] = f"{spec.name} (weights: {method})"
    data = spec.data_path().resolve()
    try:
        raw["data"] = Path(os.path.relpath(data, Path(path).resolve().parent)).as_posix()
    except ValueError:  # on another drive (Windows): no relative path exists
        raw["data"] = data.as_posix()
    for name, value in weights.items():
        raw["indicators"][name]["weight"] = float(value)
    source = spec.source or "a model"
    header = (f"# Written by 'allocator weights --method {method}' from {source}.\n"
              f"# Weights derived by {method}; everything else as in the original model.\n")
    return header + tomli_w.dumps(raw)


def write_derived_weights(model: ModelSpec | str | Path, options: WeightsOptions, out_dir: Path,
                          *, progress: Progress | None = None, force: bool = False
                          ) -> WeightsOutput:
    """Derive weights, write ``weights.csv`` and a ready-to-use model file into ``out_dir``.

    With ``options.samples`` > 0 also run the Monte Carlo study of
    :func:`allocator.studies.montecarlo.montecarlo` around the derived weights (its summary,
    indices and band chart go into the same folder), to show how much the allocation rests on
    them.
    """
    _check_lang(options.lang)
    spec = model if isinstance(model, ModelSpec) else load_model(model)
    derived = derive_weights(spec, options.method, matrix=options.matrix,
                             accept_inconsistent=options.accept_inconsistent)
    stem = Path(spec.source).stem if spec.source else "model"
    model_name = f"{stem}_{options.method}.toml"
    out_dir = Path(out_dir)
    toml_text = model_file_text(spec, derived.as_dict(), options.method, out_dir / model_name)
    files: dict[str, Writer] = {
        "weights.csv": _csv_writer(derived.frame()),
        model_name: _text_writer(toml_text),
    }
    study = None
    notes: tuple[str, ...] = ()
    matrix = Path(options.matrix) if options.matrix else None
    record = {"command": "weights", "method": options.method, "model": _json_text(spec.name),
              **inputs_record(spec), "matrix": str(matrix) if matrix else None,
              "matrix_absolute": str(matrix.resolve()) if matrix else None,
              "matrix_sha256": sha256_or_none(matrix),
              "accept_inconsistent": options.accept_inconsistent,
              "weights_model": spec.normalised_weights(), "weights_derived": derived.as_dict(),
              "samples": options.samples, "charts": options.charts, "lang": options.lang,
              "versions": versions_record()}
    if options.samples > 0:
        fast = fast_allocator(spec.with_overrides(weights=derived.as_dict()))
        mc = MonteCarloOptions(samples=options.samples, concentration=options.concentration,
                               seed=options.seed, jobs=options.jobs)
        study_options = SensitivityOptions(method=StudyMethod.MONTECARLO, montecarlo=mc,
                                           charts=options.charts, lang=options.lang)
        study = montecarlo(fast, study_options.montecarlo, progress=progress)
        record["options"] = {"concentration": mc.concentration, "seed": mc.seed}
        words = model_words(fast.spec, fast.table)
        with_actual = fast.table.actual is not None and words.actual_note is not None
        files.update(study_writers(study, study_options, words, with_actual=with_actual))
        notes = _notes(words, StudyMethod.MONTECARLO) if with_actual else ()
    files[RECORD] = _json_writer(record)
    written = write_files(out_dir, files, force=force)
    return WeightsOutput(derived, written, written / model_name, tuple(files), study, notes)
