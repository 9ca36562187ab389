"""Commands for one allocation: ``run`` it, ``validate`` its inputs, ``verify`` an earlier run.

Each command parses, calls one library function, renders; the library is imported inside the
command, so that ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from allocator.cli.console import console, note, working
from allocator.cli.options import (
    CapOpt,
    ForceOpt,
    GroupTotalOpt,
    ModelArg,
    OutOpt,
    RoundingOpt,
    SolverOpt,
    WeightOpt,
    default_out,
    overrides,
    scenario_prefix,
)


def run(
    model: ModelArg,
    out: OutOpt = None,
    weight: WeightOpt = None,
    cap: CapOpt = None,
    solver: SolverOpt = None,
    rounding: RoundingOpt = None,
    group_total: GroupTotalOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the table.")] = False,
    check_lp: Annotated[bool, typer.Option(
        "--check-lp", help="Also re-solve by the LP sequence and compare (slower).")] = False,
    force: ForceOpt = False,
) -> None:
    """Allocate the cap fairly and write allocation.csv and run.json.

    Writes to out/<model file stem> unless --out is given; a run with overrides (a scenario)
    writes to out/<model file stem>@<what changed>, e.g. out/harbin_2020@area=0.3.

    Example: allocator run models/harbin_2020.toml --weight area=0.3
    """
    from allocator.cli.render import terminal_table, weights_line
    from allocator.errors import SolverError
    from allocator.outputs.runfiles import write_result
    from allocator.pipeline.allocate import check_with_lp, prepare, solve
    from allocator.report.labels import plain_text

    given = overrides(weight, cap, solver, rounding, group_total)
    with working("reading the model and the data") as step:
        ready = prepare(model, given)
        step("solving")
        result = solve(ready)
        if check_lp:
            step("re-solving by the LP sequence")
            check = check_with_lp(result)
            if not check.same_posts:
                raise SolverError(check.describe())
        step("writing")
        out_dir = write_result(result, out or default_out(model, "", given), force=force)
    if not quiet:
        console.print(terminal_table(result.frame(), plain_text(result.spec.name) or ""))
        lambdas = ", ".join(f"{name or 'all'}: {lam:.4f}" if lam is not None else
                            f"{name or 'all'}: -" for name, lam in result.lambdas.items())
        console.print(weights_line(result.weights), soft_wrap=True)
        console.print(f"lambda (allocation/target of units no bound holds): {lambdas}")
        for state in result.constraints:
            console.print(state.describe(), soft_wrap=True)
        if result.repair is not None:
            console.print(result.repair.describe(), soft_wrap=True)
        if result.spec.actual_note:
            note(plain_text(result.spec.actual_note) or "")
    if check_lp:
        console.print(check.describe())
    console.print(scenario_prefix(given) + f"wrote {out_dir / 'allocation.csv'} and run.json",
                  soft_wrap=True)


def validate(
    model: ModelArg,
    weight: WeightOpt = None,
    cap: CapOpt = None,
    solver: SolverOpt = None,
    rounding: RoundingOpt = None,
    group_total: GroupTotalOpt = None,
) -> None:
    """Check a model and its data without solving: exit 0, 2 (invalid input) or 3 (infeasible).

    Fixed group totals do not follow a new cap: give them too, or as shares in the model file.

    Example: allocator validate models/harbin_2020.toml --cap 58000
    --group-total county=31568 --group-total district=26432
    """
    from allocator.pipeline.validate import validate as validate_model

    with working("checking the model and the data"):
        result = validate_model(model, overrides(weight, cap, solver, rounding, group_total))
    for line in result.lines():
        console.print(line, soft_wrap=True)


def verify(
    folder: Annotated[Path, typer.Argument(
        help="Output folder of an earlier run, report, transition, sensitivity or weights command.",
        show_default=False)],
    model: Annotated[Path | None, typer.Option(
        help="The model file, if it has moved since the run.")] = None,
) -> None:
    """Write FOLDER again from its model file and data on disk and compare everything.

    Works on every folder the tool writes (run, report, transition, sensitivity, weights):
    checks the hashes of the model and data files, writes the folder again with the recorded
    overrides and settings, and compares every field of its record and every cell of every
    table, document and chart it lists: exit 0 if all match, 5 if anything differs (each
    difference is named by file, row and column).

    Example: allocator verify out/harbin_2020
    """
    from allocator.audit import MISMATCH_EXIT_CODE
    from allocator.audit import verify as verify_folder

    report = verify_folder(folder, model=model)
    for line in report.lines():
        console.print(line, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(MISMATCH_EXIT_CODE)
