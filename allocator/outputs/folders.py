"""Output folders written all or nothing.

Files are first written into a temporary folder beside the destination, which then replaces the
destination in one rename, so an error never leaves a half-written output folder behind. A folder
is replaced only when it holds what this tool wrote for the same model, or with ``force``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from allocator.errors import InputError


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


@contextlib.contextmanager
def staged_folder(out_dir: Path, names: Collection[str], *, model: str | None = None,
                  force: bool = False) -> Iterator[Path]:
    """A temporary folder beside ``out_dir`` that replaces it whole when the block ends.

    For a folder whose files are computed first and written after: fill the yielded folder with
    the files ``names`` (checked against :func:`check_replaceable` before and after); when the
    block raises, nothing is replaced and the temporary folder is removed. ``model`` as in
    :func:`write_files`.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> with staged_folder(d, ["a.txt"]) as folder:
    ...     _ = (folder / "a.txt").write_text("hi")
    >>> (d / "a.txt").read_text()
    'hi'
    """
    out_dir = Path(out_dir)
    check_replaceable(out_dir, model, force=force, names=names)  # fail before writing anything
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") \
            from None
    try:
        yield staging
        check_replaceable(out_dir, model or folder_model(staging), force=force, names=names)
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
    with staged_folder(out_dir, files, model=model, force=force) as staging:
        for name, writer in files.items():
            writer(staging / name)
    return Path(out_dir)
