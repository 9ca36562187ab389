""""Save scenario": the page's settings as a model file, and the report folder that
``allocator report`` writes for that file, side by side in the output folder.

The model file is the original with the page's weights (final shares), cap and rounding, and
without the bounds switched off; its data path is relative to where it is written. Its name ends
in a tag made from its content, so saving the same scenario twice writes the same files (the
report folder is replaced by the same rules as the command line's), and a file of that name that
holds anything else is never overwritten.

>>> import tempfile
>>> from allocator.schema import load_model
>>> spec = load_model("models/harbin_2020.toml")                  # from the repository root
>>> text = scenario_text(spec.with_overrides(weights={"area": 0.3}), spec, Path("out"), ())[1]
>>> text.splitlines()[0]
"# Written by 'allocator explore' from models/harbin_2020.toml, with the weights, cap and rounding"
"""

from __future__ import annotations

import hashlib
import os
import shlex
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from allocator.errors import InputError
from allocator.outputs.audit import Verification, verify
from allocator.outputs.folders import check_replaceable
from allocator.report.write import ReportOptions, write_report
from allocator.schema import ModelSpec


@dataclass(frozen=True)
class SavedScenario:
    """What "save scenario" wrote, the command that writes it again, and its verification."""

    model_file: Path
    out_dir: Path
    files: tuple[str, ...]
    command: str
    verification: Verification


def _relative(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` (absolute when there is no relative path, on Windows)."""
    try:
        return Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def scenario_text(spec: ModelSpec, base: ModelSpec, out_root: Path,
                  switched_off: Collection[str]) -> tuple[str, str]:
    """``(tag, text)``: the model file of scenario ``spec`` (the model ``base`` with the page's
    settings applied) to be written into ``out_root``, and the tag its file is named by."""
    import tomli_w

    raw = spec.model_dump(mode="json", exclude_none=True)
    raw["data"] = _relative(spec.data_path(), out_root)
    tag = hashlib.sha256(tomli_w.dumps(raw).encode("utf-8")).hexdigest()[:8]
    raw["name"] = f"{base.name} (scenario {tag})"
    source = base.source or "a model"
    header = [f"# Written by 'allocator explore' from {source}, with the weights, cap and rounding",
              "# set on its page (weights are final shares)."]
    if switched_off:
        header.append(f"# Bounds switched off: {', '.join(sorted(switched_off))}.")
    return tag, "\n".join(header) + "\n" + tomli_w.dumps(raw)


def _write_text(path: Path, text: str) -> bool:
    """Write ``path`` in one step; True when it was created, False when it already held
    ``text``. A file that holds anything else is not replaced."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
        raise InputError(f"{path}: exists and holds another file; move it away to save this "
                         "scenario")
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot use this file ({exc})") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".allocator-", suffix=".toml")
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(temporary, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the model file ({exc.strerror or exc})") from None
    return True


def reproduce_command(model_file: Path, out_dir: Path, lang: str) -> str:
    """The command that writes ``out_dir`` again from ``model_file`` (``--out`` only when it is
    not the command's default folder).

    >>> reproduce_command(Path("out/m_scenario_1.toml"), Path("out/m_scenario_1_report"), "en")
    'allocator report out/m_scenario_1.toml --lang en'
    """
    words = ["allocator", "report", str(model_file), "--lang", lang]
    if out_dir != Path("out") / f"{model_file.stem}_report":
        words += ["--out", str(out_dir)]
    return " ".join(shlex.quote(w) for w in words)


def save_scenario(spec: ModelSpec, base: ModelSpec, out_root: Path, lang: str, *,
                  switched_off: Collection[str] = ()) -> SavedScenario:
    """Write scenario ``spec`` (``base`` with the page's settings applied) as a model file in
    ``out_root`` and its full report folder beside it, exactly what ``allocator report`` writes
    for that file; then verify the folder against the model file and data on disk.

    The report folder is checked before anything is written, with the command line's rules
    (:func:`allocator.outputs.folders.check_replaceable`); a model file created here is removed
    again when the report cannot be written.
    """
    out_root = Path(out_root)
    stem = Path(base.source).stem if base.source else "model"
    tag, text = scenario_text(spec, base, out_root, switched_off)
    model_file = out_root / f"{stem}_scenario_{tag}.toml"
    out_dir = out_root / f"{stem}_scenario_{tag}_report"
    check_replaceable(out_dir, f"{base.name} (scenario {tag})")
    created = _write_text(model_file, text)
    try:
        output = write_report(model_file, out_dir, ReportOptions(lang=lang))
    except BaseException:
        if created:
            model_file.unlink(missing_ok=True)
        raise
    return SavedScenario(model_file=model_file, out_dir=output.out_dir, files=output.files,
                         command=reproduce_command(model_file, out_dir, lang),
                         verification=verify(output.out_dir))
