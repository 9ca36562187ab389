"""Sensitivity studies: the batched closed form equals the LP path scenario by scenario, and the
summaries say what the scenarios say."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.core.fair import solve_fair
from allocator.core.problem import Pool, Problem
from allocator.core.rounding import batch_hamilton, round_pool
from allocator.core.waterfill import water_fill
from allocator.errors import InputError
from allocator.outputs.folders import MANIFEST
from allocator.pipeline.allocate import allocate
from allocator.report.studies import SensitivityOptions, montecarlo_to_file, run_study, study_files
from allocator.schema import load_model
from allocator.studies.batch import FastAllocator, batch_water_fill
from allocator.studies.montecarlo import MonteCarloOptions, montecarlo
from allocator.studies.oneway import oat, sweep, vary_weight
from allocator.studies.weights import derive_weights

from .support import CHINA, HARBIN, run_cli


@pytest.fixture(scope="module")
def harbin() -> FastAllocator:
    return FastAllocator.from_model(HARBIN)


def _weights(fast: FastAllocator, w: np.ndarray) -> dict[str, float]:
    return {name: float(v) for name, v in zip(fast.names, w, strict=True)}


# ---- the batched closed form against the one-scenario closed form and the LP ----------------


@st.composite
def pool_problems(draw):
    """A pool of 2-9 units with random targets, some floors and ceilings, a feasible total."""
    p = draw(st.integers(2, 9))
    rows = draw(st.integers(1, 4))
    t = np.array(draw(st.lists(st.lists(st.floats(0.5, 500), min_size=p, max_size=p),
                               min_size=rows, max_size=rows)))
    lower = np.array(draw(st.lists(st.sampled_from([0.0, 5.0, 40.0, 120.0]), min_size=p,
                                   max_size=p)))
    upper = lower + np.array(draw(st.lists(st.sampled_from([np.inf, 3.0, 60.0, 200.0]),
                                           min_size=p, max_size=p)))
    share = draw(st.floats(0, 1))
    high = upper.sum() if np.isfinite(upper).all() else lower.sum() + 2000
    total = int(np.ceil(lower.sum() + share * (high - lower.sum())))
    total = min(total, int(np.floor(high)))
    return t, lower, upper, max(total, int(np.ceil(lower.sum())))


@settings(max_examples=150, deadline=None)
@given(pool_problems(), st.sampled_from([0, 1, 8]))
def test_batched_water_fill_equals_the_closed_form_row_by_row(case, iterations):
    t, lower, upper, total = case
    batched = batch_water_fill(t, lower, upper, total, iterations=iterations)
    for r in range(t.shape[0]):
        problem = Problem(ids=tuple(f"u{i}" for i in range(t.shape[1])), target=t[r],
                          lower=lower, upper=upper, lower_rule=("floor",) * t.shape[1],
                          upper_rule=("ceiling",) * t.shape[1],
                          pools=(Pool("", np.arange(t.shape[1]), total),), total=total)
        np.testing.assert_allclose(batched[r], water_fill(problem), rtol=0, atol=1e-9 * total)
        assert batched[r].sum() == pytest.approx(total, abs=1e-7 * total)


def test_batched_water_fill_equals_the_lexicographic_lp():
    rng = np.random.default_rng(3)
    for _ in range(5):
        n = 8
        t = rng.uniform(1, 100, size=(1, n))
        lower = np.where(rng.random(n) < 0.4, 60.0, 0.0)
        upper = np.where(rng.random(n) < 0.4, lower + 30.0, np.inf)
        total = 400
        problem = Problem(ids=tuple(f"u{i}" for i in range(n)), target=t[0], lower=lower,
                          upper=upper, lower_rule=("floor",) * n, upper_rule=("ceiling",) * n,
                          pools=(Pool("", np.arange(n), total),), total=total)
        lp = solve_fair(problem, method="lp").exact
        np.testing.assert_allclose(batch_water_fill(t, lower, upper, total)[0], lp, atol=1e-6)


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 8).flatmap(lambda p: st.tuples(
    st.lists(st.integers(0, 40), min_size=p, max_size=p),        # whole parts
    st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.5, 0.75, 0.999999]), min_size=p, max_size=p),
    st.permutations(list(range(p))),                               # natural-order ranks
    st.lists(st.sampled_from([np.inf, 0.0, 1.0]), min_size=p, max_size=p))))
def test_batched_hamilton_equals_round_pool(case):
    whole, frac, ranks, room = case
    exact = np.array(whole, dtype=float) + np.array(frac)
    lower = np.floor(exact)
    upper = np.floor(exact) + np.array(room) + np.where(np.array(frac) > 0, 1, 0)
    total = int(round(exact.sum()))
    total = min(max(total, int(lower.sum())), int(upper.sum()) if np.isfinite(upper).all()
                else total)
    ids = tuple(f"u{r}" for r in ranks)  # natural order of ids = the ranks
    expected = round_pool(exact, lower, upper, total, "hamilton", ids)
    got = batch_hamilton(exact[None, :], lower, upper, total, np.array(ranks))[0]
    assert got.tolist() == expected.tolist()


# ---- whole scenarios against allocate() (the LP path), exactly ------------------------------


def test_every_scenario_equals_allocate_for_harbin(harbin):
    rng = np.random.default_rng(11)
    w = np.vstack([rng.dirichlet(np.full(4, 0.7), size=20), np.eye(4)[[0, 2]] * 0.9 + 0.025])
    posts = harbin.posts(w)
    for row, weights in zip(posts, w, strict=True):
        result = allocate(harbin.spec, weights=_weights(harbin, weights))
        assert row.tolist() == result.posts.tolist()


@pytest.mark.parametrize("method", ["webster", "dhondt", "huntington-hill"])
def test_divisor_rounding_scenarios_equal_allocate(method):
    fast = FastAllocator.from_model(HARBIN, rounding=method)
    rng = np.random.default_rng(5)
    w = rng.dirichlet(np.ones(4), size=4)
    for row, weights in zip(fast.posts(w), w, strict=True):
        result = allocate(HARBIN, weights=_weights(fast, weights), rounding=method)
        assert row.tolist() == result.posts.tolist()


def test_scenarios_equal_allocate_for_the_2810_counties():
    fast = FastAllocator.from_model(CHINA)
    rng = np.random.default_rng(2)
    w = rng.dirichlet(fast.centre * 20, size=2)
    for row, weights in zip(fast.posts(w), w, strict=True):
        assert row.tolist() == allocate(fast.spec, weights=_weights(fast, weights)).posts.tolist()


def test_saved_samples_reproduce_with_allocator_run(tmp_path, harbin):

    from allocator.outputs.runfiles import read_allocation

    path = tmp_path / "samples.csv"
    montecarlo_to_file(harbin, MonteCarloOptions(samples=300, concentration=5, seed=7), path)
    with path.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 300 and [int(r["scenario"]) for r in rows] == list(range(1, 301))
    for row in rows[::37]:
        weights = {n: float(row[f"w_{n}"]) for n in harbin.names}
        posts = allocate(harbin.spec, weights=weights).posts
        assert [int(row[i]) for i in harbin.problem.ids] == posts.tolist()
    row = rows[123]
    args = ["run", str(HARBIN), "-q", "--out", str(tmp_path / "run")]
    for n in harbin.names:
        args += ["--weight", f"{n}={row[f'w_{n}']}"]
    outcome = run_cli(*args)
    assert outcome.exit_code == 0, outcome.output
    table = read_allocation(tmp_path / "run" / "allocation.csv")
    assert table["allocation"].tolist() == [int(row[i]) for i in table["id"]]


# ---- Monte Carlo summaries -------------------------------------------------------------------


def _read_samples(path: Path, ids) -> np.ndarray:
    with path.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    return np.array([[int(r[i]) for i in ids] for r in rows])


def test_summary_agrees_with_the_scenarios(tmp_path, harbin):
    path = tmp_path / "s.csv"
    mc = montecarlo_to_file(harbin, MonteCarloOptions(samples=1500, concentration=8, seed=1), path)
    posts = _read_samples(path, harbin.problem.ids)
    s = mc.summary
    for label, q in (("min", 0), ("p5", 0.05), ("p50", 0.5), ("p95", 0.95), ("max", 1)):
        expected = np.quantile(posts, q, axis=0, method="inverted_cdf")
        assert s[f"alloc_{label}"].tolist() == expected.astype(int).tolist()
    actual = harbin.table.actual
    np.testing.assert_allclose(s["share_above_actual"], (posts > actual).mean(axis=0))
    np.testing.assert_allclose(s["share_below_actual"], (posts < actual).mean(axis=0))
    for _, row in s.iterrows():
        if row["verdict"] == "over":
            assert row["share_below_actual"] >= 0.95
        elif row["verdict"] == "under":
            assert row["share_above_actual"] >= 0.95
        else:
            assert max(row["share_below_actual"], row["share_above_actual"]) < 0.95
    assert s["base"].tolist() == allocate(HARBIN).posts.tolist()
    assert (s["rank_min"] <= s["rank_base"]).all() and (s["rank_base"] <= s["rank_max"]).all()


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), concentration=st.floats(0.5, 500), uniform=st.booleans(),
       samples=st.integers(1, 300))
def test_quantiles_are_ordered(harbin, seed, concentration, uniform, samples):
    s = montecarlo(harbin, MonteCarloOptions(samples=samples, concentration=concentration,
                                             uniform=uniform, seed=seed)).summary
    cols = ["alloc_min", "alloc_p5", "alloc_p50", "alloc_p95", "alloc_max"]
    assert (np.diff(s[cols].to_numpy(), axis=1) >= 0).all()
    assert ((s["rank_same_share"] >= 0) & (s["rank_same_share"] <= 1)).all()


def test_results_do_not_depend_on_jobs(tmp_path, harbin):
    options = MonteCarloOptions(samples=700, seed=4, chunk_size=100)
    one = montecarlo_to_file(harbin, options, tmp_path / "one.csv")
    two = montecarlo_to_file(harbin, MonteCarloOptions(samples=700, seed=4, chunk_size=100, jobs=2),
                             tmp_path / "two.csv")
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    assert one.summary.equals(two.summary)


def test_zero_weight_indicators_stay_zero_and_uniform_covers_the_simplex(tmp_path):
    fast = FastAllocator.from_model(load_model(HARBIN).with_overrides(weights={"townships": 0}))
    path = tmp_path / "s.csv"
    montecarlo_to_file(fast, MonteCarloOptions(samples=200), path)
    with path.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert all(float(r["w_townships"]) == 0 for r in rows)
    montecarlo_to_file(fast, MonteCarloOptions(samples=200, uniform=True), path)
    with path.open(encoding="utf-8-sig") as handle:
        w = np.array([[float(r[f"w_{n}"]) for n in fast.names] for r in csv.DictReader(handle)])
    assert (w[:, 3] > 0).all()
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w.mean(axis=0), 0.25, atol=0.05)  # uniform: mean 1/k each


def test_first_order_indices_agree_with_salib(tmp_path, harbin):
    from SALib.analyze import delta

    path = tmp_path / "s.csv"
    mc = montecarlo_to_file(harbin, MonteCarloOptions(samples=4000, concentration=10, seed=2), path)
    with path.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    x = np.array([[float(r[f"w_{n}"]) for n in harbin.names] for r in rows])
    problem = {"num_vars": 4, "names": list(harbin.names), "bounds": [[0, 1]] * 4}
    for unit in ("230184", "230113"):
        y = np.array([float(r[unit]) for r in rows])
        np.random.seed(0)
        ref = delta.analyze(problem, x, y, num_resamples=2, method="sobol")["S1"]
        ours = mc.indices.set_index("id").loc[unit, [f"s1_{n}" for n in harbin.names]]
        np.testing.assert_allclose(ours.to_numpy(dtype=float), ref, atol=0.08)


# ---- sweep and one-at-a-time -----------------------------------------------------------------


def test_sweep_at_the_models_own_weight_equals_the_base_run(harbin):
    base = allocate(HARBIN).posts
    result = sweep(harbin, "area", [0.0, 0.25, 0.6])
    assert result.posts[1].tolist() == base.tolist()
    np.testing.assert_allclose(result.weights[1], harbin.centre)
    zero = allocate(HARBIN, weights={"area": 0.0}).posts  # keeps the others' proportions
    assert result.posts[0].tolist() == zero.tolist()
    frame = result.frame()
    assert len(frame) == 3 * 18 and (frame.groupby("step")["allocation"].sum() == 60806).all()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=5), st.data())
def test_vary_weight_keeps_the_other_proportions(raw, data):
    centre = np.array(raw) + 1e-3
    centre = centre / centre.sum()
    k = data.draw(st.integers(0, len(raw) - 1))
    value = data.draw(st.floats(0, 1))
    w = vary_weight(centre, k, value)
    assert w.sum() == pytest.approx(1) and w[k] == pytest.approx(value)
    others, base = np.delete(w, k), np.delete(centre, k)
    if value < 1:
        np.testing.assert_allclose(others / others.sum(), base / base.sum(), rtol=1e-9)


def test_oat_changes_equal_allocations_at_the_moved_weights(harbin):
    result = oat(harbin, 0.1)
    np.testing.assert_allclose(result.weights_up.sum(axis=1), 1)
    for k, name in enumerate(harbin.names):
        up = allocate(HARBIN, weights=_weights(harbin, result.weights_up[k])).posts
        assert result.up[k].tolist() == up.tolist()
        assert result.weights_up[k][k] > harbin.centre[k] > result.weights_down[k][k], name
    top = result.largest(5)
    assert top["swing"].is_monotonic_decreasing
    assert top["swing"].iloc[0] == result.frame()["swing"].max()


def test_bad_options_are_input_errors(harbin):
    with pytest.raises(InputError, match="no such indicator"):
        sweep(harbin, "areaa", [0.1])
    with pytest.raises(InputError, match="between 0 and 1"):
        sweep(harbin, "area", [1.5])
    with pytest.raises(InputError, match="delta 0"):
        oat(harbin, 0)
    with pytest.raises(InputError, match="samples 0"):
        montecarlo(harbin, MonteCarloOptions(samples=0))


def test_progress_reports_every_chunk_up_to_the_total(harbin):
    calls = []
    montecarlo(harbin, MonteCarloOptions(samples=250, chunk_size=100),
               progress=lambda done, total: calls.append((done, total)))
    assert calls == [(100, 250), (200, 250), (250, 250)]


# ---- study folders: computed first, then written; the samples streamed through a sink --------


def test_chunks_reach_the_sink_in_scenario_order(tmp_path, harbin):
    options = MonteCarloOptions(samples=450, seed=5, chunk_size=100, jobs=2)
    chunks = []
    montecarlo(harbin, options, on_chunk=lambda first, w, posts: chunks.append((first, w, posts)))
    assert [first for first, _, _ in chunks] == [1, 101, 201, 301, 401]
    path = tmp_path / "s.csv"
    montecarlo_to_file(harbin, options, path)
    with path.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    w = np.vstack([c[1] for c in chunks])
    assert [[float(r[f"w_{n}"]) for n in harbin.names] for r in rows] == w.tolist()
    assert [[int(r[i]) for i in harbin.problem.ids] for r in rows] == \
        np.vstack([c[2] for c in chunks]).tolist()


@pytest.mark.parametrize(("options", "files"), [
    (SensitivityOptions(method="sweep", indicator="area"), ("sweep.csv", "sweep.png", "study.json")),
    (SensitivityOptions(method="oat", charts=False), ("oat.csv", "study.json")),
    (SensitivityOptions(save_samples=True), ("montecarlo_samples.csv", "montecarlo_summary.csv",
                                             "montecarlo_indices.csv", "montecarlo_bands.png",
                                             "study.json")),
])
def test_study_files_follow_the_options(options, files):
    assert study_files(options) == files


def test_a_study_that_fails_while_streaming_leaves_the_old_folder_alone(tmp_path, harbin):
    out = tmp_path / "mc"
    options = SensitivityOptions(montecarlo=MonteCarloOptions(samples=300, chunk_size=100),
                                 save_samples=True, charts=False)
    first = run_study(HARBIN, options, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {*first.files, MANIFEST}

    def stop(done, total):
        if done > 100:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        run_study(harbin, options, out, progress=stop)
    assert [p.name for p in tmp_path.iterdir()] == ["mc"]  # no staging folder left behind
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_library_messages_name_no_command_line_flags(harbin):
    calls = [
        lambda: sweep(harbin, "areaa", [0.1]),
        lambda: oat(harbin, 2),
        lambda: run_study(harbin, SensitivityOptions(method="tornado"), Path("never")),
        lambda: run_study(harbin, SensitivityOptions(method="sweep"), Path("never")),
        lambda: run_study(harbin, SensitivityOptions(method="sweep", indicator="area", steps=1),
                          Path("never")),
        lambda: derive_weights(HARBIN, "ahp"),
        lambda: derive_weights(HARBIN, "entrop"),
        lambda: derive_weights(HARBIN, "equal", matrix=Path("m.csv")),
        *(lambda o=o: montecarlo(harbin, o) for o in (
            MonteCarloOptions(samples=0), MonteCarloOptions(concentration=0),
            MonteCarloOptions(confidence=0.2), MonteCarloOptions(jobs=0),
            MonteCarloOptions(seed=-1))),
    ]
    for call in calls:
        with pytest.raises(InputError) as caught:
            call()
        assert "--" not in str(caught.value), str(caught.value)
    assert not Path("never").exists()


def test_studies_import_neither_outputs_nor_report():
    import subprocess
    import sys

    code = ("import sys, allocator.studies.batch, allocator.studies.oneway, "
            "allocator.studies.montecarlo, allocator.studies.weights, allocator.studies.pairwise\n"
            "print(sorted(m for m in sys.modules if m.startswith(('allocator.outputs', "
            "'allocator.report', 'allocator.cli'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
