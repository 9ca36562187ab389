"""Monte Carlo on the simplex: N weight vectors drawn around the model's, each unit summarised.

Scenarios run in fixed-size chunks, each seeded from ``numpy.random.SeedSequence(seed)`` by its
index, so results do not depend on ``jobs``; per-unit results are aggregated in exact integer
histograms and running sums, so memory stays flat as the number of scenarios grows. Nothing is
written here: whoever wants every scenario passes ``on_chunk`` and receives them chunk by chunk.

>>> seen = []
>>> mc = montecarlo("models/harbin_2020.toml", MonteCarloOptions(samples=300, chunk_size=200),
...                 on_chunk=lambda first, w, posts: seen.append((first, len(w))))
>>> seen, len(mc.summary)
([(1, 200), (201, 100)], 18)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.errors import InputError
from allocator.studies.batch import FastAllocator, StudyModel, fast_allocator
from allocator.studies.workers import ordered_map, worker_count

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each chunk of scenarios."""

ChunkSink = Callable[[int, np.ndarray, np.ndarray], None]
"""Called as ``on_chunk(first, weights, posts)`` for each chunk of scenarios, in scenario order:
``first`` is the number of its first scenario (from 1), ``weights`` (scenarios x indicators) and
``posts`` (scenarios x units) hold one row per scenario."""

QUANTILES = (("min", 0.0), ("p5", 0.05), ("p50", 0.5), ("p95", 0.95), ("max", 1.0))
INDEX_BINS = 20  # equal-probability classes per weight for the first-order indices
PILOT = 4096  # weight vectors drawn (from their own seed) to place the class edges
MAX_SAMPLES = 10_000_000  # beyond this a study takes hours and its quantiles no longer move


@dataclass(frozen=True)
class MonteCarloOptions:
    """How to sample weight vectors and summarise the allocations.

    ``concentration`` K gives a Dirichlet with alpha = K * w centred on the weights ``around``
    (default: the model's); indicators whose centre weight is 0 stay at 0. ``uniform`` samples
    the whole simplex instead. ``confidence`` is the share of scenarios that must agree for the
    verdict ``over``/``under``.
    """

    samples: int = 1000
    concentration: float = 50.0
    uniform: bool = False
    seed: int = 0
    confidence: float = 0.95
    jobs: int = 1
    around: dict[str, float] | None = None
    chunk_size: int | None = None

    def check(self) -> None:
        """Raise :class:`InputError` for options that cannot work."""
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise InputError(f"samples {self.samples:,}: use 1 to {MAX_SAMPLES:,} scenarios "
                             "(quantiles settle long before that; see the progress bar's estimate)")
        if not self.uniform and not (self.concentration > 0 and math.isfinite(self.concentration)):
            raise InputError(f"concentration {self.concentration:g}: must be a finite number > 0")
        if not 0.5 < self.confidence <= 1:
            raise InputError(f"confidence {self.confidence:g}: must lie in (0.5, 1]")
        if self.jobs == 0 or self.jobs < -1:
            raise InputError(f"jobs {self.jobs}: use a positive number, or -1 for all cores")
        if self.seed < 0:
            raise InputError(f"seed {self.seed}: must be >= 0")


def chunk_size_for(units: int) -> int:
    """Scenarios per chunk: fixed by the model size alone, so results never depend on ``jobs``."""
    return int(max(16, min(2048, 2**19 // max(units, 1))))


def _alpha(centre: np.ndarray, options: MonteCarloOptions) -> np.ndarray:
    if options.uniform:
        return np.ones(centre.size)
    return options.concentration * centre


def _draw(alpha: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Dirichlet draws; components with alpha 0 are 0. Rows are normalised like the model's."""
    w = np.zeros((size, alpha.size))
    live = alpha > 0
    w[:, live] = rng.dirichlet(alpha[live], size=size)
    return w / w.sum(axis=1, keepdims=True)


def _chunk(fast: FastAllocator, alpha: np.ndarray, seed: int, index: int, size: int):
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    w = _draw(alpha, rng, size)
    return w, fast.posts(w)


class _Histograms:
    """Exact counts of each unit's integer allocations: memory bounded by the range of values.

    All units share one flat array: unit i's counts of the values ``offset[i]``,
    ``offset[i] + 1``, ... sit at ``start[i]`` onwards (``width[i]`` of them).

    >>> h = _Histograms(2)
    >>> h.add(np.array([[3, 10], [5, 10], [4, 12]]))
    >>> h.quantile(0.5).tolist(), h.share(np.array([4.0, 10.0]), True).tolist()
    ([4.0, 10.0], [0.3333333333333333, 0.3333333333333333])
    """

    def __init__(self, units: int):
        self.offset = np.zeros(units, dtype=np.int64)
        self.width = np.zeros(units, dtype=np.int64)
        self.start = np.zeros(units, dtype=np.int64)
        self.counts = np.zeros(0, dtype=np.int64)

    def _owner(self) -> np.ndarray:
        """The unit of each position of the flat array."""
        return np.repeat(np.arange(self.width.size), self.width)

    def add(self, posts: np.ndarray) -> None:
        lows, highs = posts.min(axis=0), posts.max(axis=0)
        top = self.offset + self.width - 1
        if self.counts.size == 0:
            pad = (highs - lows) // 2 + 1  # room for half the range more on each side
            self._layout(lows - pad, highs + pad)
        elif (lows < self.offset).any() or (highs > top).any():
            # Room for the whole range again on the side that grew: few re-layouts.
            pad = np.maximum(highs, top) - np.minimum(lows, self.offset) + 1
            self._layout(np.where(lows < self.offset, lows - pad, self.offset),
                         np.where(highs > top, highs + pad, top))
        # Unit by unit (each unit's counts are close together): fewer cache misses.
        np.add.at(self.counts, (posts.T + (self.start - self.offset)[:, None]).ravel(), 1)

    def _layout(self, offset: np.ndarray, top: np.ndarray) -> None:
        """Lay the counts out again for the values ``offset`` to ``top`` of each unit."""
        width = top - offset + 1
        start = np.concatenate([[0], np.cumsum(width)[:-1]])
        counts = np.zeros(int(width.sum()), dtype=np.int64)
        if self.counts.size:
            # Units whose counts move by the same amount lie in runs: one block copy per run.
            shift = start - self.start + self.offset - offset
            end = self.start + self.width
            runs = np.concatenate([[0], np.flatnonzero(np.diff(shift)) + 1, [shift.size]])
            for first, last in zip(runs[:-1].tolist(), (runs[1:] - 1).tolist(), strict=True):
                a, b, by = self.start[first], end[last], shift[first]
                counts[a + by:b + by] = self.counts[a:b]
        self.offset, self.width, self.start, self.counts = offset, width, start, counts

    def quantile(self, q: float) -> np.ndarray:
        """Per unit, the smallest value v with share(<= v) >= q (numpy's ``inverted_cdf``)."""
        cum = np.cumsum(self.counts)
        before = np.concatenate([[0], cum])[self.start]  # scenarios counted by earlier units
        total = cum[self.start + self.width - 1] - before
        need = np.maximum(q * total, 1) - 1e-9 * total
        # A whole count c reaches the float need exactly when it reaches ceil(need).
        first = np.searchsorted(cum, before + np.ceil(need).astype(np.int64), "left")
        return (self.offset + first - self.start).astype(float)

    def share(self, actual: np.ndarray, above: bool) -> np.ndarray:
        """Per unit, the share of scenarios with allocation above (or below) ``actual``."""
        owner = self._owner()
        values = self.offset[owner] + np.arange(self.counts.size) - self.start[owner]
        hit = values > actual[owner] if above else values < actual[owner]
        return (np.add.reduceat(np.where(hit, self.counts, 0), self.start)
                / np.add.reduceat(self.counts, self.start))


class _Indices:
    """First-order sensitivity indices from given samples (correlation ratio, binned):
    S_k = Var(E[Y | w_k]) / Var(Y), with equal-probability classes of w_k. Running sums only."""

    def __init__(self, edges: np.ndarray, units: int):
        self.edges = edges  # indicators x (bins - 1) inner edges; NaN row = constant weight
        k, b = edges.shape[0], edges.shape[1] + 1
        self.count = np.zeros((k, b))
        self.sum = np.zeros((k, b, units))
        self.total = np.zeros(units)
        self.total_sq = np.zeros(units)
        self.n = 0

    def add(self, w: np.ndarray, posts: np.ndarray) -> None:
        # Sums of whole numbers in integers: exact, so equal to any floating-point order of them.
        y = posts.astype(np.int64, copy=False)
        self.n += y.shape[0]
        self.total += y.sum(axis=0)
        self.total_sq += np.einsum("ij,ij->j", y, y)
        for k in range(w.shape[1]):
            if np.isnan(self.edges[k]).any():
                continue
            cls = np.searchsorted(self.edges[k], w[:, k], side="right")
            self.count[k] += np.bincount(cls, minlength=self.count.shape[1])
            order = np.argsort(cls, kind="stable")
            ordered = cls[order]
            starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
            self.sum[k][ordered[starts]] += np.add.reduceat(y[order], starts, axis=0)

    def first_order(self) -> np.ndarray:
        """indicators x units; NaN where the weight or the allocation does not vary."""
        mean = self.total / self.n
        var = self.total_sq / self.n - mean**2
        out = np.full((self.edges.shape[0], mean.size), np.nan)
        for k in range(self.edges.shape[0]):
            if np.isnan(self.edges[k]).any():
                continue
            filled = self.count[k] > 0
            cmean = self.sum[k][filled] / self.count[k][filled, None]
            between = (self.count[k][filled, None] * (cmean - mean) ** 2).sum(axis=0) / self.n
            with np.errstate(divide="ignore", invalid="ignore"):
                out[k] = np.where(var > 1e-9 * np.maximum(mean**2, 1), between / var, np.nan)
        return np.clip(out, 0.0, 1.0)


def _index_edges(alpha: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**32 - 1,)))
    pilot = _draw(alpha, rng, PILOT)
    qs = np.linspace(0, 1, INDEX_BINS + 1)[1:-1]
    edges = np.quantile(pilot, qs, axis=0).T
    edges[alpha <= 0] = np.nan
    return edges


@dataclass(frozen=True, eq=False)
class MonteCarloResult:
    """Per-unit summary of N sampled weight vectors (nothing per scenario is kept)."""

    options: MonteCarloOptions
    names: tuple[str, ...]
    centre: np.ndarray
    alpha: np.ndarray
    summary: pd.DataFrame
    indices: pd.DataFrame


def _rank(posts: np.ndarray) -> np.ndarray:
    """1 = most posts; ties by unit order (natural id order).

    One sort of whole numbers per row: fewer posts (from the row's most), then the column, packed
    in one integer key whose low bits give back the column, so the sort is also the order.

    >>> _rank(np.array([[5, 7, 5, 1], [0, 0, 0, 0]])).tolist()
    [[2, 1, 3, 4], [1, 2, 3, 4]]
    """
    rows, n = posts.shape
    shift = max(int(n - 1).bit_length(), 1)
    key = posts.max(axis=1, keepdims=True) - posts.astype(np.int64, copy=False)
    if key.size and int(key.max()) < 2 ** (31 - shift):
        key = key.astype(np.int32)  # sorts about twice as fast
    key <<= shift
    key |= np.arange(n, dtype=key.dtype)
    order = np.sort(key, axis=1)
    order &= (1 << shift) - 1
    ranks = np.empty((rows, n), dtype=np.int64)
    ranks[np.arange(rows)[:, None], order] = np.arange(1, n + 1)
    return ranks


def _chunks(fast: FastAllocator, alpha: np.ndarray, options: MonteCarloOptions
            ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    size = options.chunk_size or chunk_size_for(len(fast.problem))
    sizes = [min(size, options.samples - start) for start in range(0, options.samples, size)]
    tasks = ((fast, alpha, options.seed, index, count) for index, count in enumerate(sizes))
    yield from ordered_map(_chunk, tasks, workers=min(worker_count(options.jobs), len(sizes)))


def montecarlo(model: StudyModel,
               options: MonteCarloOptions = MonteCarloOptions(), *,
               on_chunk: ChunkSink | None = None, progress: Progress | None = None,
               rounding: str | None = None) -> MonteCarloResult:
    """Allocate N weight vectors sampled on the simplex and summarise each unit's allocation.

    ``on_chunk(first, weights, posts)`` receives every scenario, chunk by chunk in order (the
    only thing that grows with N); ``progress(done, total)`` is called after each chunk.

    >>> mc = montecarlo("models/harbin_2020.toml", MonteCarloOptions(samples=2000))
    >>> s = mc.summary
    >>> bool(((s["alloc_p5"] <= s["alloc_p50"]) & (s["alloc_p50"] <= s["alloc_p95"])).all())
    True
    """
    options.check()
    fast = fast_allocator(model, rounding)
    centre = fast.weight_vector(options.around) if options.around else fast.centre
    alpha = _alpha(centre, options)
    n = len(fast.problem)
    hist = _Histograms(n)
    indices = _Indices(_index_edges(alpha, options.seed), n)
    base = fast.posts(centre[None, :])[0]
    base_rank = _rank(base[None, :])[0]
    rank_min = np.full(n, n + 1)
    rank_max = np.zeros(n, dtype=np.int64)
    rank_same = np.zeros(n, dtype=np.int64)
    done = 0
    for w, posts in _chunks(fast, alpha, options):
        hist.add(posts)
        indices.add(w, posts)
        ranks = _rank(posts)
        rank_min = np.minimum(rank_min, ranks.min(axis=0))
        rank_max = np.maximum(rank_max, ranks.max(axis=0))
        rank_same += (ranks == base_rank).sum(axis=0)
        if on_chunk:
            on_chunk(done + 1, w, posts)
        done += w.shape[0]
        if progress:
            progress(done, options.samples)
    summary = fast.unit_frame()
    summary["base"] = base
    for label, q in QUANTILES:
        summary[f"alloc_{label}"] = hist.quantile(q).astype(np.int64)
    actual = fast.table.actual
    if actual is not None:
        for label, _ in QUANTILES:
            summary[f"diff_{label}"] = summary[f"alloc_{label}"] - actual
        above, below = hist.share(actual, True), hist.share(actual, False)
        summary["share_above_actual"] = above
        summary["share_below_actual"] = below
        summary["verdict"] = np.where(below >= options.confidence - 1e-12, "over",
                                      np.where(above >= options.confidence - 1e-12, "under",
                                               "depends"))
    summary["rank_base"] = base_rank
    summary["rank_min"] = rank_min
    summary["rank_max"] = rank_max
    summary["rank_same_share"] = rank_same / done
    s1 = indices.first_order()
    index_frame = fast.unit_frame()[["id", "label", "group"]]
    for k, name in enumerate(fast.names):
        index_frame[f"s1_{name}"] = s1[k]
    return MonteCarloResult(options=options, names=fast.names, centre=centre, alpha=alpha,
                            summary=summary, indices=index_frame)
