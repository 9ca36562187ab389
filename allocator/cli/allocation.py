"""Commands for one allocation: ``run`` it, ``validate`` its inputs, ``verify`` an earlier run.

Each command parses, calls one library function, renders; the library is imported inside the
command, so that ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from allocator.cli.console import console, note
from allocator.cli.options import (
    CapOpt,
    ForceOpt,
    ModelArg,
    OutOpt,
    RoundingOpt,
    SolverOpt,
    WeightOpt,
    overrides,
)


def run(
    model: ModelArg,
    out: OutOpt = None,
    weight: WeightOpt = None,
    cap: CapOpt = None,
    solver: SolverOpt = None,
    rounding: RoundingOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the table.")] = False,
    check_lp: Annotated[bool, typer.Option(
        "--check-lp", help="Also re-solve by the LP sequence and compare (slower).")] = False,
    force: ForceOpt = False,
) -> None:
    """Allocate the cap fairly and write allocation.csv and run.json.

    Writes to out/<model file stem> unless --out is given.

    Example: allocator run models/harbin_2020.toml --weight area=0.3 --out out/harbin_area30
    """
    from allocator.cli.render import terminal_table
    from allocator.errors import SolverError
    from allocator.outputs.runfiles import write_result
    from allocator.pipeline.allocate import check_with_lp, prepare, solve

    result = solve(prepare(model, overrides(weight, cap, solver, rounding)))
    if check_lp:
        check = check_with_lp(result)
        if not check.same_posts:
            raise SolverError(check.describe())
    out_dir = write_result(result, out or Path("out") / model.stem, force=force)
    if not quiet:
        console.print(terminal_table(result.frame(), result.spec.name))
        lambdas = ", ".join(f"{name or 'all'}: {lam:.4f}" if lam is not None else
                            f"{name or 'all'}: -" for name, lam in result.lambdas.items())
        console.print(f"weights: {', '.join(f'{k} {v:.3f}' for k, v in result.weights.items())}")
        console.print(f"lambda (allocation/target of units no bound holds): {lambdas}")
        for state in result.constraints:
            console.print(state.describe(), soft_wrap=True)
        if result.repair is not None:
            console.print(result.repair.describe(), soft_wrap=True)
        if result.spec.actual_note:
            note(result.spec.actual_note)
    if check_lp:
        console.print(check.describe())
    console.print(f"wrote {out_dir / 'allocation.csv'} and run.json")


def validate(
    model: ModelArg,
    weight: WeightOpt = None,
    cap: CapOpt = None,
) -> None:
    """Check a model and its data without solving: exit 0, 2 (invalid input) or 3 (infeasible).

    Example: allocator validate models/harbin_2020.toml --cap 58000
    """
    from allocator.pipeline.validate import validate as validate_model

    result = validate_model(model, overrides(weight, cap))
    for line in result.lines():
        console.print(line, soft_wrap=True)


def verify(
    folder: Annotated[Path, typer.Argument(help="Output folder of an earlier run.",
                                           show_default=False)],
    model: Annotated[Path | None, typer.Option(
        help="The model file, if it has moved since the run.")] = None,
) -> None:
    """Re-run the model recorded in FOLDER/run.json and compare: exit 0 if it matches, 5 if not.

    Example: allocator verify out/harbin_2020
    """
    from allocator.outputs.audit import MISMATCH_EXIT_CODE
    from allocator.outputs.audit import verify as verify_folder

    report = verify_folder(folder, model=model)
    for line in report.lines():
        console.print(line, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(MISMATCH_EXIT_CODE)
