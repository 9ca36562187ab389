"""The options the commands share, each defined once with its help; choices come from
:mod:`allocator.choices`, so ``--help`` lists them and a wrong one is a one-line error.

Nothing here imports the library's heavy parts: ``allocator --help`` builds every option.

>>> parse_choice(Rounding, "--rounding", "Webster")
<Rounding.WEBSTER: 'webster'>
>>> overrides(["area=0.3"], cap=5, group_total=["district=26000"]).describe()
'weights area=0.3; cap 5; group_totals district=26000'
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from allocator.choices import Language, OutputFormat, Rounding, Solver, StudyMethod, WeightingMethod
from allocator.cli.console import note
from allocator.errors import InputError, did_you_mean
from allocator.overrides import Overrides

C = TypeVar("C", bound=StrEnum)


def parse_choice(choice: type[C], flag: str, text: str | C) -> C:
    """The member of ``choice`` named ``text`` (any case); :class:`InputError` naming ``flag`` and
    the choices if there is none."""
    if isinstance(text, choice):
        return text
    try:
        return choice(str(text).strip().casefold())
    except ValueError:
        values = [member.value for member in choice]
        raise InputError(f"{flag} {text}: use one of {', '.join(values)}"
                         f"{did_you_mean(str(text), values)}") from None


def choice_option(choice: type[StrEnum], flag: str, help: str) -> typer.models.OptionInfo:
    """An option that takes one of ``choice``'s values (any case), listed at the end of its help.

    A parser rather than typer's own enum handling, so that a wrong value is the same one-line
    error, exit code 2, as every other input error.
    """
    values = [member.value for member in choice]
    return typer.Option(flag, parser=functools.partial(parse_choice, choice, flag),
                        metavar="|".join(values), help=f"{help} One of: {', '.join(values)}.")


def _pairs(items: list[str] | None, flag: str, example: str) -> Iterator[tuple[str, str, str]]:
    """``NAME=VALUE`` items as (item, name, value); :class:`InputError` naming ``flag`` and the
    item for one without a name or a value, or a name given twice."""
    seen: set[str] = set()
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name or not value.strip():
            what = "NAME=VALUE" if flag == "--weight" else "NAME=POSTS"
            raise InputError(f"{flag} {item}: expected {what}, e.g. {flag} {example}")
        if name in seen:
            raise InputError(f"{flag} {item}: {name} is given twice")
        seen.add(name)
        yield item, name, value.strip()


def parse_weights(items: list[str] | None) -> dict[str, float]:
    """``["population=0.5", "area=0.2"]`` -> ``{"population": 0.5, "area": 0.2}``; each the
    indicator's final share, checked when the model applies them.

    >>> parse_weights(["population=0.5"])
    {'population': 0.5}
    >>> parse_weights(["population=abc"])
    Traceback (most recent call last):
    allocator.errors.InputError: --weight population=abc: 'abc' is not a number
    """
    weights = {}
    for item, name, value in _pairs(items, "--weight", "population=0.5"):
        try:
            weights[name] = float(value)
        except ValueError:
            raise InputError(f"--weight {item}: '{value}' is not a number") from None
    return weights


def parse_group_totals(items: list[str] | None) -> dict[str, int]:
    """``["district=26000"]`` -> ``{"district": 26000}``.

    >>> parse_group_totals(["district=26000.5"])
    Traceback (most recent call last):
    allocator.errors.InputError: --group-total district=26000.5: '26000.5' is not a whole number of posts
    """
    totals = {}
    for item, name, value in _pairs(items, "--group-total", "district=26000"):
        try:
            totals[name] = int(value)
        except ValueError:
            raise InputError(f"--group-total {item}: '{value}' is not a whole number of "
                             "posts") from None
    return totals


def overrides(weight: list[str] | None = None, cap: int | None = None,
              solver: Solver | None = None, rounding: Rounding | None = None,
              group_total: list[str] | None = None) -> Overrides:
    """The run's :class:`Overrides` from the values of ``--weight``, ``--cap``, ``--solver``,
    ``--rounding`` and ``--group-total``."""
    return Overrides(weights=parse_weights(weight), cap=cap, solver=solver, rounding=rounding,
                     group_totals=parse_group_totals(group_total))


def default_out(model: Path, kind: str, given: Overrides) -> Path:
    """The default output folder: ``out/<model file stem><kind>``, and for a scenario (a run
    with overrides) ``@`` and what changed, so that it never replaces the model's own results.

    >>> default_out(Path("models/harbin_2020.toml"), "", Overrides(weights={"area": 0.3}))
    PosixPath('out/harbin_2020@area=0.3')
    >>> default_out(Path("m.toml"), "_report", Overrides())
    PosixPath('out/m_report')
    """
    tag = given.tag()
    return Path("out") / (f"{model.stem}{kind}@{tag}" if tag else f"{model.stem}{kind}")


def scenario_prefix(given: Overrides) -> str:
    """``scenario area=0.3: `` before the line that says where a scenario's files went ('' for
    the model as it is).

    >>> scenario_prefix(Overrides(cap=5)), scenario_prefix(Overrides())
    ('scenario cap=5: ', '')
    """
    return f"scenario {given.tag()}: " if not given.is_empty else ""


def given_options(ctx: typer.Context, *names: str) -> list[str]:
    """The options among ``names`` (parameter names) given on the command line, as written
    (``--samples 50``; a flag as its flag, e.g. ``--uniform`` or ``--no-charts``)."""
    flags = []
    for param in ctx.command.params:
        if param.name not in names or param.name is None:
            continue
        source = ctx.get_parameter_source(param.name)
        if source is None or source.name not in ("COMMANDLINE", "ENVIRONMENT"):
            continue
        value = ctx.params.get(param.name)
        opts = [o for o in param.opts if o.startswith("--")] or list(param.opts)
        if getattr(param, "is_flag", False):
            secondary = [o for o in param.secondary_opts if o.startswith("--")]
            flags.append(opts[0] if value or not secondary else secondary[0])
        elif isinstance(value, list | tuple):
            flags.append(" ".join(f"{opts[0]} {v}" for v in value))
        else:
            shown = value.value if isinstance(value, StrEnum) else \
                format(value, "g") if isinstance(value, float) else value
            flags.append(f"{opts[0]} {shown}")
    return flags


def refuse(ctx: typer.Context, names: tuple[str, ...], reason: str) -> None:
    """:class:`InputError` naming the options among ``names`` that were given, then ``reason``,
    in which ``{verb}`` reads "applies" or "apply"."""
    given = given_options(ctx, *names)
    if given:
        verb = "applies" if len(given) == 1 else "apply"
        raise InputError(f"{' '.join(given)}: {reason.format(verb=verb)}")


ModelArg = Annotated[Path, typer.Argument(
    metavar="MODEL", help="Model file (TOML), e.g. models/harbin_2020.toml.", show_default=False)]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", metavar="DIR", help="Output folder (default: under out/, named after the model file "
                                 "as said above, with @ and the overrides for a scenario).",
    show_default=False)]
ForceOpt = Annotated[bool, typer.Option(
    "--force", help="Replace the output folder even if it holds another model's or another "
                    "scenario's results; files the tool did not write are never replaced.")]
WeightOpt = Annotated[list[str] | None, typer.Option(
    "--weight", "-w", metavar="NAME=SHARE",
    help="Give one indicator's final share of the weights, 0 to 1 (repeatable); the other "
         "indicators share the rest in the model's proportions.")]
CapOpt = Annotated[int | None, typer.Option(
    "--cap", metavar="POSTS", help="Override the cap (posts, before reserve).")]
SolverOpt = Annotated[Solver | None, choice_option(
    Solver, "--solver", "LP solver (default: the model's, else highs).")]
RoundingOpt = Annotated[Rounding | None, choice_option(
    Rounding, "--rounding", "Rounding to whole posts (default: the model's, else hamilton).")]
GroupTotalOpt = Annotated[list[str] | None, typer.Option(
    "--group-total", metavar="NAME=POSTS",
    help="Override the fixed total of one group of the model's [groups] (repeatable).")]
LangOpt = Annotated[Language, choice_option(
    Language, "--lang", "Language of headers, labels and charts.")]
FormatsOpt = Annotated[str | None, typer.Option(
    "--format", "-f", metavar="FORMATS",
    help=f"Table formats, comma-separated, any of: {','.join(OutputFormat.tables())} (default: "
         "all); charts are chosen with --charts/--no-charts.")]
ChartsOpt = Annotated[bool, typer.Option(
    "--charts/--no-charts", help="Draw the charts (PNG files).")]
DocumentChartsOpt = Annotated[bool, typer.Option(
    "--charts/--no-charts", help="Draw the charts: PNG and SVG files, and a figure in every "
                                  "document; --no-charts: no chart anywhere (and faster).")]
StudyMethodOpt = Annotated[StudyMethod, choice_option(
    StudyMethod, "--method", "Sweep one weight, move each one at a time (oat), or sample weights "
                             "(montecarlo).")]
WeightingMethodOpt = Annotated[WeightingMethod, choice_option(
    WeightingMethod, "--method", "Equal weights, from the data (entropy, critic), or from an "
                                 "AHP matrix (ahp).")]
SeedOpt = Annotated[int, typer.Option("--seed", metavar="N", help="Monte Carlo: random seed.")]
ConcentrationOpt = Annotated[float, typer.Option(
    "--concentration", metavar="K", help="Monte Carlo: Dirichlet concentration K (alpha = K * "
                                         "weights); larger = closer to the weights.")]


def _cap_jobs(value: int) -> int:
    """Say so when --jobs asks for more processes than there are cores (the study uses them all)."""
    from allocator.studies.workers import available_cores

    cores = available_cores()
    if value > cores:
        note(f"--jobs {value}: this machine has {cores} cores available; using {cores}")
    return value


JobsOpt = Annotated[int, typer.Option(
    "--jobs", metavar="N", callback=_cap_jobs,
    help="Monte Carlo: parallel processes (-1 = all cores; capped at the cores available); "
         "results do not depend on it.")]
