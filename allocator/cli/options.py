"""The options the commands share, each defined once with its help; choices come from
:mod:`allocator.choices`, so ``--help`` lists them and a wrong one is a one-line error.

Nothing here imports the library's heavy parts: ``allocator --help`` builds every option.

>>> parse_choice(Rounding, "--rounding", "Webster")
<Rounding.WEBSTER: 'webster'>
>>> overrides(["area=0.3"], cap=5).describe()
'weights area=0.3; cap 5'
"""

from __future__ import annotations

import functools
import math
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
                        metavar=flag.removeprefix("--").upper(),
                        help=f"{help} One of: {', '.join(values)}.")


def parse_weights(items: list[str] | None) -> dict[str, float]:
    """``["population=0.5", "area=2"]`` -> ``{"population": 0.5, "area": 2.0}``.

    >>> parse_weights(["population=0.5"])
    {'population': 0.5}
    """
    weights = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not name.strip() or number is None:
            raise InputError(f"--weight {item}: expected NAME=VALUE, e.g. --weight population=0.5")
        if number < 0 or not math.isfinite(number):
            raise InputError(f"--weight {item}: a weight must be a finite number >= 0")
        weights[name.strip()] = number
    return weights


def overrides(weight: list[str] | None = None, cap: int | None = None,
              solver: Solver | None = None, rounding: Rounding | None = None) -> Overrides:
    """The run's :class:`Overrides` from the values of ``--weight``, ``--cap``, ``--solver`` and
    ``--rounding``."""
    return Overrides(weights=parse_weights(weight), cap=cap, solver=solver, rounding=rounding)


ModelArg = Annotated[Path, typer.Argument(
    help="Model file (TOML), e.g. models/harbin_2020.toml.", show_default=False)]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", help="Output folder (default: under out/, named after the model file as said "
                  "above).", show_default=False)]
ForceOpt = Annotated[bool, typer.Option(
    "--force", help="Replace the output folder even if it holds another model's results or "
                    "other files.")]
WeightOpt = Annotated[list[str] | None, typer.Option(
    "--weight", "-w", metavar="NAME=VALUE",
    help="Override one indicator's weight (repeatable); weights are renormalised.")]
CapOpt = Annotated[int | None, typer.Option(
    "--cap", help="Override the cap (posts, before reserve).")]
SolverOpt = Annotated[Solver | None, choice_option(
    Solver, "--solver", "LP solver (default: the model's, else highs).")]
RoundingOpt = Annotated[Rounding | None, choice_option(
    Rounding, "--rounding", "Rounding to whole posts (default: the model's, else hamilton).")]
LangOpt = Annotated[Language, choice_option(
    Language, "--lang", "Language of headers, labels and charts.")]
FormatsOpt = Annotated[str | None, typer.Option(
    "--format", "-f", metavar="FORMATS",
    help=f"Comma-separated, any of: {','.join(f.value for f in OutputFormat)} (default: all).")]
StudyMethodOpt = Annotated[StudyMethod, choice_option(
    StudyMethod, "--method", "Sweep one weight, move each one at a time (oat), or sample weights "
                             "(montecarlo).")]
WeightingMethodOpt = Annotated[WeightingMethod, choice_option(
    WeightingMethod, "--method", "Equal weights, from the data (entropy, critic), or from an "
                                 "AHP matrix (ahp).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Monte Carlo: random seed.")]
ConcentrationOpt = Annotated[float, typer.Option(
    "--concentration", help="Monte Carlo: Dirichlet concentration K (alpha = K * weights); larger = "
                            "closer to the weights.")]
def _cap_jobs(value: int) -> int:
    """Say so when --jobs asks for more processes than there are cores (the study uses them all)."""
    from allocator.studies.workers import available_cores

    cores = available_cores()
    if value > cores:
        note(f"--jobs {value}: this machine has {cores} cores available; using {cores}")
    return value


JobsOpt = Annotated[int, typer.Option(
    "--jobs", callback=_cap_jobs,
    help="Monte Carlo: parallel processes (-1 = all cores; capped at the cores available); "
         "results do not depend on it.")]
