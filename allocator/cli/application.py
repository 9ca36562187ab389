"""The ``allocator`` command: the app, its commands in order, and how an error becomes one line
on stderr (in the command's own flag words) and an exit code.

Building the app imports no part of the library beyond the choices and the errors: every command
imports what it needs when it runs, so that ``allocator --help`` starts fast.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from allocator.cli import allocation, documents, explore, studies, transition
from allocator.cli.console import console, err_console
from allocator.errors import AllocatorError


def tidy_params(params: list[Any]) -> list[Any]:
    """Parameters as ``--help`` should show them: a flag without a value type (no ``<bool>``),
    an argument by its name alone (``MODEL``, not ``MODEL <path>``)."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
        elif getattr(param, "param_type_name", "") == "argument":
            param.display_type_rich = lambda ctx: None  # the help text says what it is
    return params


class TidyGroup(TyperGroup):
    """The app's root: its options without ``<bool>``."""

    def get_params(self, ctx: Any) -> list[Any]:
        return tidy_params(super().get_params(ctx))


app = typer.Typer(
    name="allocator",
    help="Zero-based, fair staffing totals for districts and counties under a fixed cap.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts hold brackets ([groups.NAME]) that are not markup
    cls=TidyGroup,
)


def version() -> str:
    """This package's version (``unknown`` when it is not installed)."""
    from importlib import metadata

    try:
        return metadata.version("allocator")
    except metadata.PackageNotFoundError:
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        console.print(f"allocator {version()}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    """Zero-based, fair staffing totals for districts and counties under a fixed cap.

    Example: allocator run models/harbin_2020.toml
    """


# Library words that name an option by another word than its flag.
ALIASES = {"weights": "weight", "language": "lang", "formats": "format",
           "group_totals": "group_total"}
# Library messages that start with a phrase, not a word, for the option they are about.
PHRASES = {"no unit with id or name": "explain"}
_PAIRS = r"[^\s:',=()]+=[^\s:',()]+(?:, [^\s:',=()]+=[^\s:',()]+)*"  # a=1, b=2
_LEADING = re.compile(rf"(?P<word>[a-z_]+)(?: '(?P<quoted>[^']*)'| (?P<bare>{_PAIRS}|[^\s:']+))?: "
                      r"(?P<rest>.*)", re.DOTALL)
_MENTION = re.compile(rf"\((?P<word>[a-z_]+) (?P<pairs>{_PAIRS})")  # "(group_totals a=1, b=2"
_NO_SUCH = re.compile(r"(?P<what>no such [a-z ]+?) '(?P<value>[^']*)'(?P<rest>.*)", re.DOTALL)
_WITH = re.compile(r" \(with overrides (?P<given>.*)\)$", re.DOTALL)


def in_flag_words(text: str, flags: dict[str, str], paths: tuple[str, ...] = ()) -> str:
    """A library message said in a command's flag words. ``flags`` maps each option's names (its
    parameter and its flag without dashes) to its flag; words of other commands stay as they are,
    and so does a message that starts with one of ``paths`` (the command's files).

    >>> flags = {"weight": "--weight", "cap": "--cap", "format": "--format", "explain": "--explain"}
    >>> in_flag_words("weights: no such indicator 'areaa' (did you mean 'area'?)", flags)
    "--weight areaa: no such indicator (did you mean 'area'?)"
    >>> in_flag_words("m.toml: cap: must be greater than 0 (got 0) (with overrides cap 0)", flags)
    'm.toml: cap: must be greater than 0 (got 0) (with --cap 0)'
    >>> in_flag_words("format 'pdf': unknown format", flags)
    '--format pdf: unknown format'
    >>> in_flag_words("no unit with id or name 'x'", flags)
    "--explain: no unit with id or name 'x'"
    >>> in_flag_words("method 'x': use one of a, b", flags)
    "method 'x': use one of a, b"
    >>> in_flag_words("weights a=0.7, b=0.4: add up to 1.1 (weights a=0.5, b=0.5 would)", flags)
    '--weight a=0.7 --weight b=0.4: add up to 1.1 (--weight a=0.5 --weight b=0.5 would)'
    """
    def flag(word: str) -> str | None:
        return flags.get(ALIASES.get(word, word))

    for phrase, option in PHRASES.items():
        if text.startswith(phrase) and option in flags:
            return f"{flags[option]}: {text}"

    def mention(match: re.Match) -> str:
        option = flag(match["word"])
        return match[0] if option is None else "(" + _repeated(option, match["pairs"])

    text = _MENTION.sub(mention, text)
    with_overrides = _WITH.search(text)
    if with_overrides:
        given = _override_flags(with_overrides["given"], flag)
        if given is not None:
            text = f"{text[:with_overrides.start()]} (with {given})"
    lead = _LEADING.fullmatch(text)
    name = flag(lead["word"]) if lead else None
    if lead is None or name is None or text.startswith(tuple(f"{p}:" for p in paths)):
        return text
    rest = lead["rest"]
    value = lead["quoted"] if lead["quoted"] is not None else lead["bare"]
    no_such = _NO_SUCH.fullmatch(rest)
    if value is None and no_such:
        return f"{name} {no_such['value']}: {no_such['what']}{no_such['rest']}"
    if value is not None and re.fullmatch(_PAIRS, value) and ", " in value:
        return f"{_repeated(name, value)}: {rest}"
    return f"{name} {value}: {rest}" if value is not None else f"{name}: {rest}"


def _repeated(option: str, pairs: str) -> str:
    """``--weight``, ``a=1, b=2`` -> ``--weight a=1 --weight b=2``."""
    return " ".join(f"{option} {pair}" for pair in pairs.split(", "))


def _override_flags(described: str, flag: Callable[[str], str | None]) -> str | None:
    """``weights a=1, b=2; cap 5`` (:meth:`Overrides.describe`) -> ``--weight a=1 --weight b=2
    --cap 5``, or None when the command has no flag for one of them."""
    words = []
    for part in described.split("; "):
        name, _, value = part.partition(" ")
        option = flag(name)
        if option is None:
            return None
        values = value.split(", ") if "=" in value else [value]
        words += [f"{option} {v}" for v in values]
    return " ".join(words)


class ReportingCommand(TyperCommand):
    """A command whose :class:`AllocatorError` (from parsing its options or from running it)
    becomes one line on stderr, in its own flag words, and the error's exit code; its help
    shows ``Usage: allocator run [OPTIONS] MODEL`` and no ``<bool>``."""

    def get_params(self, ctx: Any) -> list[Any]:
        return tidy_params(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if getattr(param, "param_type_name", "") == "argument":
                name = str(param.metavar or param.name).upper()
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None,
                     **extra: Any) -> Any:
        with self._reporting(()):
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        paths = tuple(str(v) for v in ctx.params.values() if isinstance(v, Path))
        with self._reporting(paths):
            return super().invoke(ctx)

    def flags(self) -> dict[str, str]:
        """Each option's names (parameter, and flag without dashes) -> its long flag."""
        flags = {}
        for param in self.params:
            long = [o for o in getattr(param, "opts", ()) if o.startswith("--")]
            if long and param.name:
                for name in (param.name, long[0][2:], long[0][2:].replace("-", "_")):
                    flags[name] = long[0]
        return flags

    @contextlib.contextmanager
    def _reporting(self, paths: tuple[str, ...]) -> Iterator[None]:
        try:
            yield
        except AllocatorError as exc:
            text = in_flag_words(str(exc), self.flags(), paths)
            # Keep the message on one line even when a quoted cell holds a line break.
            text = text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")
            err_console.print(f"error: {text}", style="bold red", soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None


for _command in (allocation.run, allocation.validate, allocation.verify, documents.report,
                 studies.sensitivity, studies.weights, transition.transition, explore.explore):
    app.command(cls=ReportingCommand)(_command)
