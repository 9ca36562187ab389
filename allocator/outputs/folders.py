"""Output folders written all or nothing, and never at the cost of a file the tool did not write.

Files are first written into a staging folder beside the destination, which then takes its
place: the old folder is renamed to a backup, the new one renamed into place, the backup deleted.
At every instant either the old or the new folder exists: an interruption between the two
renames (Ctrl-C, SIGTERM, SIGKILL, a power cut) leaves the backup, and the next write to the same
destination moves it back (or, when the new folder made it, deletes it) before anything else.
Staging and backup folders sit beside the destination under short hidden names
(``.allocator-<hash>.new`` and ``.old``, the hash of the destination's name), so names up to the
file system's limit of 255 bytes work. SIGTERM is handled like Ctrl-C while a folder is written;
a signal that arrives between the two renames takes effect right after them.

Every folder written holds a manifest (``.allocator-manifest.json``) naming its files, the model
and the scenario (the overrides of the run, :meth:`allocator.overrides.Overrides.tag`; '' for the
model as it is). A folder is replaced only when every file in it is one the tool wrote (named in
its manifest; for a folder written before manifests, one of the files about to be written), so no
other file is ever deleted, not even with ``force``: the refusal names the files. ``force`` is
needed to replace another model's results, another scenario's or another command's files. An
output folder may never be the current folder, a folder holding it, or a folder holding a file
this process read (the model file, the data table).

A symbolic link to a folder is written through: the folder it points to is replaced and the link
kept. A link to nothing is refused.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import threading
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

from allocator.errors import InputError

MANIFEST = ".allocator-manifest.json"
NAME_MAX = 255  # bytes in one file name on the common file systems


def folder_model(folder: Path) -> str | None:
    """The name of the model whose results a folder holds (from its ``run.json``), or None.

    >>> folder_model(Path("no/such/folder")) is None
    True
    """
    try:
        record = json.loads((Path(folder) / "run.json").read_text(encoding="utf-8"))
        name = record["model"]["name"]
        if isinstance(name, dict):  # a bilingual title, named as str(Bilingual) names it
            name = f"{name['zh']} / {name['en']}"
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest (files and model name), or None when it has no valid one."""
    try:
        record = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("files"), list) or \
            not all(isinstance(f, str) for f in record["files"]):
        return None
    return record


def _side_names(real: Path) -> tuple[Path, Path]:
    """The staging and backup folders of a destination: short, hidden, found again by name."""
    tag = hashlib.sha256(os.fsencode(real.name)).hexdigest()[:12]
    return real.parent / f".allocator-{tag}.new", real.parent / f".allocator-{tag}.old"


def _shown(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _destination(out_dir: Path) -> Path:
    """Where the folder is really written: through a symbolic link to its target."""
    name = os.fsencode(out_dir.name)
    if len(name) > NAME_MAX:
        raise InputError(f"{out_dir}: the folder name is {len(name)} bytes long; file systems "
                         f"allow at most {NAME_MAX}; choose a shorter name")
    if out_dir.is_symlink():
        target = out_dir.resolve()
        if not target.exists():
            raise InputError(f"{out_dir}: is a link to a folder that does not exist ({target}); "
                             "create it or choose another output folder")
        return target
    return out_dir.resolve()


def _protected(real: Path, out_dir: Path, inputs: Collection[Path]) -> None:
    """Refuse an output folder that is or holds the current folder or a file the run reads."""
    here = Path.cwd().resolve()
    if real in (here, *here.parents):
        raise InputError(f"{out_dir}: is the current folder or holds it; choose another output "
                         "folder")
    from allocator.table import inputs_read

    for path in sorted({Path(p).resolve() for p in inputs} | inputs_read()):
        if (path == real or real in path.parents) and path.exists():
            raise InputError(f"{out_dir}: holds {path}, which this run reads; choose another "
                             "output folder")


def _scenario(tag: str) -> str:
    return f"'{tag}'" if tag else "the model as it is"


def check_replaceable(out_dir: Path, model: str | None, *, force: bool = False,
                      names: Collection[str] = (), inputs: Collection[Path] = (),
                      scenario: str | None = None) -> None:
    """Raise :class:`InputError` unless ``out_dir`` may be replaced by results of ``model``.

    A missing or empty folder may always be replaced. Otherwise every entry must be a file this
    tool wrote (named in the folder's manifest or, without one, in ``names``, the files about to
    be written); anything else (the user's files, sub-folders, links) is never replaced, even
    with ``force``. The tool's own files are replaced when they hold the same model's results or
    are the files about to be written (the same command again), otherwise only with ``force``;
    results of another ``scenario`` (as its manifest records it) only with ``force`` too.
    A file, the current folder, a folder holding it or holding a file read by this process (or
    given in ``inputs``) is never replaced.

    >>> check_replaceable(Path("no/such/folder"), "demo")
    """
    out_dir = Path(out_dir)
    try:
        real = _destination(out_dir)
        if real.exists() and not real.is_dir():
            raise InputError(f"{out_dir}: exists and is not a folder; choose another output folder")
        _protected(real, out_dir, inputs)
        if not real.exists():
            return
        entries = sorted(real.iterdir())
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot use this output folder ({exc.strerror or exc})") \
            from None
    if not entries:
        return
    manifest = read_manifest(real)
    ours = set(manifest["files"]) if manifest else set(names)
    folders = [e.name for e in entries if e.is_dir() and not e.is_symlink()]
    if folders:
        raise InputError(f"{out_dir}: holds folders that would be lost ({_shown(folders)}); "
                         "choose another output folder, or move them away")
    foreign = [e.name for e in entries if e.name != MANIFEST and
               (e.name not in ours or e.is_symlink() or not e.is_file())]
    if foreign:
        raise InputError(f"{out_dir}: holds files that are not allocator results "
                         f"({_shown(foreign)}); choose another output folder, or move them away")
    if force:
        return
    existing = manifest.get("model") if manifest else folder_model(real)
    if model is not None and isinstance(existing, str) and existing != model:
        raise InputError(f"{out_dir}: holds results of another model ('{existing}', not "
                         f"'{model}'); choose another output folder, or use --force to "
                         "replace it")
    recorded = manifest.get("scenario") if manifest else None
    if scenario is not None and isinstance(recorded, str) and recorded != scenario:
        raise InputError(f"{out_dir}: holds results of another scenario ({_scenario(recorded)}, "
                         f"not {_scenario(scenario)}); choose another output folder, or use "
                         "--force to replace it")
    if model is not None and isinstance(existing, str):
        return
    others = sorted(ours - set(names) - {MANIFEST}) if manifest else []
    if others:
        raise InputError(f"{out_dir}: holds other allocator results that would be lost "
                         f"({_shown(others)}); choose another output folder, or use --force to "
                         "replace it")


def recover(out_dir: Path) -> None:
    """Finish or undo a replacement that was interrupted (e.g. by SIGKILL) for ``out_dir``:
    move the old folder back when the new one never arrived, and delete the staging and backup
    folders. Nothing happens when there are none.

    >>> recover(Path("no/such/folder"))
    """
    real = _destination(Path(out_dir))
    staging, backup = _side_names(real)
    if backup.exists():
        if not os.path.lexists(real):
            os.rename(backup, real)
        else:
            shutil.rmtree(backup)
    if staging.exists():
        shutil.rmtree(staging)


class _Signals:
    """While writing: SIGTERM raises KeyboardInterrupt like Ctrl-C, and both wait until the
    swap of folders is done when they arrive during it."""

    def __init__(self) -> None:
        self.saved: dict[int, Any] = {}
        self.holding = False
        self.pending: int | None = None

    def _handler(self, signum: int, frame) -> None:
        if self.holding:
            self.pending = signum
            return
        self._deliver(signum, frame)

    def _deliver(self, signum: int, frame) -> None:
        previous = self.saved.get(signum)
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signum, frame)  # someone else's handler decides
            return
        raise KeyboardInterrupt

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous = signal.getsignal(signum)
                if previous is signal.SIG_IGN or previous is None:
                    continue  # ignored on purpose (or set outside Python): leave it so
                self.saved[signum] = previous
                signal.signal(signum, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self.saved.items():
            signal.signal(signum, previous)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Signals arriving inside take effect when it ends."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.pending is not None:
            signum, self.pending = self.pending, None
            self._deliver(signum, None)


def _os_error(out_dir: Path, exc: OSError) -> InputError:
    if exc.errno == errno.ENAMETOOLONG:
        return InputError(f"{out_dir}: the path is too long for the file system; choose a "
                          "shorter output folder")
    return InputError(f"{out_dir}: cannot write the output folder ({exc.strerror or exc})")


@contextlib.contextmanager
def staged_folder(out_dir: Path, names: Collection[str], *, model: str | None = None,
                  force: bool = False, inputs: Collection[Path] = (),
                  scenario: str | None = None) -> Iterator[Path]:
    """A staging folder beside ``out_dir`` that replaces it whole when the block ends.

    For a folder whose files are computed first and written after: fill the yielded folder with
    the files ``names``. The folder is checked with :func:`check_replaceable` before and after;
    when the block raises (or is interrupted), the old folder stays and no staging folder is left.
    ``model``, ``inputs`` and ``scenario`` as in :func:`write_files`.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> with staged_folder(d, ["a.txt"]) as folder:
    ...     _ = (folder / "a.txt").write_text("hi")
    >>> (d / "a.txt").read_text()
    'hi'
    """
    out_dir = Path(out_dir)
    with _Signals() as signals:
        try:
            recover(out_dir)  # leftovers of an interrupted earlier write come first
        except OSError as exc:
            raise _os_error(out_dir, exc) from None
        check_replaceable(out_dir, model, force=force, names=names, inputs=inputs,
                          scenario=scenario)
        real = _destination(out_dir)
        staging, backup = _side_names(real)
        try:
            real.parent.mkdir(parents=True, exist_ok=True)
            staging.mkdir()
        except OSError as exc:
            raise InputError(f"{out_dir}: cannot create the output folder "
                             f"({exc.strerror or exc})") from None
        try:
            yield staging
            model = model or folder_model(staging)
            record = {"written_by": "allocator", "model": model, "files": sorted(names)}
            if scenario is not None:
                record["scenario"] = scenario
            (staging / MANIFEST).write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n",
                                            encoding="utf-8")
            check_replaceable(out_dir, model, force=force, names=names, inputs=inputs,
                              scenario=scenario)
            with signals.held():
                if os.path.lexists(real):
                    os.rename(real, backup)
                os.rename(staging, real)
            shutil.rmtree(backup, ignore_errors=True)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                recover(out_dir)  # the old folder back in place, no staging left
            if isinstance(exc, OSError):
                raise _os_error(out_dir, exc) from None
            raise


def write_files(out_dir: Path, files: dict[str, Callable[[Path], None]], *,
                model: str | None = None, force: bool = False,
                inputs: Collection[Path] = (), scenario: str | None = None) -> Path:
    """Create ``out_dir`` holding ``files`` (name -> writer of that path), replacing it whole.

    Every file is written into a staging folder beside ``out_dir`` first, which then takes its
    place, so an error or an interruption never leaves a half-written folder, nor no folder.
    An existing folder is only replaced as :func:`check_replaceable` allows; ``model`` is the name
    of the model whose results are written (when None, it is read from the ``run.json`` among
    ``files``, if any); ``inputs`` are files the run reads (besides those read through
    :mod:`allocator.table`), which the folder must not hold; ``scenario`` names the overrides
    the results were made with ('' for none; None: not recorded, not checked).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> _ = write_files(d, {"a.txt": lambda p: p.write_text("hi")})
    >>> (d / "a.txt").read_text(), sorted(p.name for p in d.iterdir())
    ('hi', ['.allocator-manifest.json', 'a.txt'])
    """
    with staged_folder(out_dir, files, model=model, force=force, inputs=inputs,
                       scenario=scenario) as staging:
        for name, writer in files.items():
            writer(staging / name)
    return Path(out_dir)
