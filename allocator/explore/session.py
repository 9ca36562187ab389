"""What the page asks for, in library words.

The page sends its settings as JSON: the whole weight vector (final shares), the cap, the
rounding method and each bound switched on or off; a slider move names one indicator, its new
share and the locked indicators. Here they are checked like the command line's options (with
the library's messages), the weight vector is rebalanced on the server (:func:`rebalance`), and
each allocation is computed by :func:`allocator.pipeline.allocate.allocate` with the whole
vector. A bound switched off is removed from the model's ``[bounds]`` and the model validated
again, as a model file without it would be.

>>> explorer = Explorer("models/harbin_2020.toml")                  # from the repository root
>>> view = explorer.step({"settings": explorer.initial.as_json(),
...                       "move": {"name": "area", "value": "0.3"}, "locks": ["townships"]})
>>> {k: round(v, 4) for k, v in view["weights"].items()}
{'population': 0.4125, 'urban_population': 0.1375, 'area': 0.3, 'townships': 0.15}
>>> sum(u["posts"] for u in view["units"])
60806
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocator.choices import Language, Rounding, names
from allocator.core.explain import Explanation, explain
from allocator.errors import InputError, did_you_mean
from allocator.explore import views
from allocator.pipeline.allocate import AllocationResult, allocate, unit_index
from allocator.report.build import build_report
from allocator.report.labels import model_words
from allocator.report.model import Report
from allocator.schema import ModelSpec, load_model, spec_from_dict

CACHE_SIZE = 16  # allocations kept, so that a click on a unit or a save does not re-solve
JSON = dict[str, Any]


def rebalance(weights: Mapping[str, float], name: str, value: float,
              locks: Collection[str] = ()) -> dict[str, float]:
    """The whole weight vector (final shares adding up to 1) after indicator ``name`` is set to
    ``value``: locked indicators keep their shares, the others share what is left in proportion
    to their current shares (equally when those are all 0). ``value`` is held to what the locked
    ones leave; with no other indicator free to move, ``name`` keeps its share.

    >>> def shown(w): return {k: round(v, 6) for k, v in w.items()}
    >>> shown(rebalance({"a": 0.5, "b": 0.3, "c": 0.2}, "a", 0.6))
    {'a': 0.6, 'b': 0.24, 'c': 0.16}
    >>> shown(rebalance({"a": 0.5, "b": 0.3, "c": 0.2}, "a", 0.9, locks={"b"}))
    {'a': 0.7, 'b': 0.3, 'c': 0.0}
    >>> shown(rebalance({"a": 1.0, "b": 0.0, "c": 0.0}, "a", 0.5))
    {'a': 0.5, 'b': 0.25, 'c': 0.25}
    """
    locked = [k for k in weights if k in locks and k != name]
    free = [k for k in weights if k not in locked and k != name]
    room = max(0.0, 1.0 - math.fsum(weights[k] for k in locked))
    if not free:
        return dict(weights)
    share = min(max(float(value), 0.0), room)
    rest = room - share
    total = math.fsum(weights[k] for k in free)
    out = {}
    for k in weights:
        if k == name:
            out[k] = share
        elif k in locked:
            out[k] = float(weights[k])
        else:
            out[k] = rest * (weights[k] / total) if total > 0 else rest / len(free)
    return out


@dataclass(frozen=True)
class Settings:
    """One state of the page: the weights (final shares, in the model's indicator order), the
    cap, the rounding method and the bounds switched off."""

    weights: tuple[tuple[str, float], ...]
    cap: int
    rounding: str
    bounds_off: frozenset[str] = frozenset()

    def weight_dict(self) -> dict[str, float]:
        return dict(self.weights)

    def as_json(self) -> JSON:
        """The settings as the page sends them."""
        return {"weights": self.weight_dict(), "cap": self.cap, "rounding": self.rounding,
                "bounds": {key: False for key in sorted(self.bounds_off)}}


def _weight(name: str, value: Any) -> float:
    """One final share as the page gives it (a number, or the text of a number box)."""
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not (math.isfinite(number) and 0 <= number <= 1):
        shown = value.strip() if isinstance(value, str) else repr(value)
        raise InputError(f"weights {name}={shown}: a weight given for a run is the indicator's "
                         "share, a number between 0 and 1")
    return number


def read_weights(given: Any, spec: ModelSpec) -> dict[str, float]:
    """The page's weight vector: a share for every indicator of the model, in its order."""
    if not isinstance(given, Mapping):
        raise InputError("weights: expected a share for every indicator")
    for name in given:
        if name not in spec.indicators:
            raise InputError(f"weights: no such indicator '{name}'"
                             f"{did_you_mean(str(name), spec.indicators)}")
    missing = [name for name in spec.indicators if name not in given]
    if missing:
        raise InputError(f"weights: no share for {', '.join(missing)}")
    weights = {name: _weight(name, given[name]) for name in spec.indicators}
    if math.fsum(weights.values()) <= 0:
        raise InputError("weights: the weights add up to 0; give at least one positive weight")
    return weights


def read_cap(given: Any) -> int:
    """The cap as the page gives it: a whole number (the model file checks the rest)."""
    if isinstance(given, int) and not isinstance(given, bool):
        return given
    text = str(given).strip()
    try:
        return int(text)
    except ValueError:
        raise InputError(f"cap '{text}': must be a whole number of posts") from None


def read_rounding(given: Any) -> str:
    """A rounding method by name, as ``--rounding`` takes it."""
    text = str(given).strip().casefold()
    values = names(Rounding)
    if text not in values:
        raise InputError(f"rounding '{given}': use one of {', '.join(values)}"
                         f"{did_you_mean(text, values)}")
    return text


def read_bounds(given: Any, spec: ModelSpec) -> frozenset[str]:
    """The bounds switched off: ``{"max_cut": false, ...}``; only bounds the model sets."""
    if not isinstance(given, Mapping):
        raise InputError("bounds: expected each bound of the model, on (true) or off (false)")
    known = list(spec.bounds.model_dump(exclude_none=True))
    off = set()
    for key, on in given.items():
        if key not in known:
            raise InputError(f"bounds: the model sets no bound '{key}'"
                             f"{did_you_mean(str(key), known)} (it sets: "
                             f"{', '.join(known) or 'none'})")
        if not isinstance(on, bool):
            raise InputError(f"bounds: '{key}' must be on (true) or off (false)")
        if not on:
            off.add(key)
    return frozenset(off)


def read_language(given: Any) -> str:
    """``zh`` or ``en``."""
    if given not in names(Language):
        raise InputError(f"language '{given}': use {' or '.join(names(Language))}")
    return str(given)


class Computed:
    """One allocation with its explanation and what the page shows of it; its report tables
    are built when first asked for (a unit's waterfall), once."""

    def __init__(self, result: AllocationResult, explanation: Explanation, view: JSON,
                 report: Report | None = None) -> None:
        self.result = result
        self.explanation = explanation
        self.view = view
        self._report = report
        self._lock = threading.Lock()

    @property
    def report(self) -> Report:
        with self._lock:
            if self._report is None:
                self._report = build_report(self.result, self.explanation)
            return self._report


class Explorer:
    """One model on the page: its settings checked, its allocations computed (the last
    ``CACHE_SIZE`` kept) and described, scenarios saved under ``out_root``.

    Building one computes the model's own allocation, so that a model that cannot be allocated
    fails here, with the command line's message and exit code, and not on the page.
    """

    def __init__(self, model: ModelSpec | str | Path, out_root: str | Path = "out") -> None:
        self.spec = model if isinstance(model, ModelSpec) else load_model(model)
        self.out_root = Path(out_root)
        self.initial = Settings(tuple(self.spec.normalised_weights().items()), self.spec.cap,
                                str(self.spec.rounding))
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._variants: dict[frozenset[str], ModelSpec] = {}
        self._cache: OrderedDict[Settings, Computed] = OrderedDict()
        first = self.result(self.initial)
        explanation = explain(first)
        self.words = model_words(first.spec, first.table)  # the same for every move
        self.template = build_report(first, explanation, words=self.words)
        self._cache[self.initial] = Computed(first, explanation, views.allocation(
            first, explanation, self.template, self.words), self.template)

    # ---- the library's side ---------------------------------------------------------------

    def variant(self, bounds_off: frozenset[str]) -> ModelSpec:
        """The model without the bounds ``bounds_off``, validated as a model file would be."""
        if not bounds_off:
            return self.spec
        if bounds_off not in self._variants:
            raw = self.spec.model_dump(exclude_none=True)
            raw["bounds"] = {k: v for k, v in raw["bounds"].items() if k not in bounds_off}
            self._variants[bounds_off] = spec_from_dict(raw, self.spec.source or "model")
        return self._variants[bounds_off]

    def computed(self, settings: Settings) -> Computed:
        """The allocation of ``settings`` (from the cache when it was computed lately)."""
        with self._lock:
            if settings in self._cache:
                self._cache.move_to_end(settings)
                return self._cache[settings]
            result = self.result(settings)
            explanation = explain(result)
            computed = Computed(result, explanation,
                                views.allocation(result, explanation, self.template,
                                                 self.words))
            self._cache[settings] = computed
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
            return computed

    def result(self, settings: Settings) -> AllocationResult:
        """:func:`allocate` with the whole weight vector, the cap and the rounding method."""
        spec = self.variant(settings.bounds_off)
        return allocate(spec, weights=settings.weight_dict(),
                        cap=settings.cap if settings.cap != spec.cap else None,
                        rounding=settings.rounding if settings.rounding != spec.rounding else None)

    def settings(self, payload: Mapping[str, Any]) -> Settings:
        """The page's settings, checked."""
        if not isinstance(payload, Mapping):
            raise InputError("settings: expected weights, cap, rounding and bounds")
        weights = read_weights(payload.get("weights"), self.spec)
        return Settings(tuple(weights.items()), read_cap(payload.get("cap", self.spec.cap)),
                        read_rounding(payload.get("rounding", self.spec.rounding)),
                        read_bounds(payload.get("bounds", {}), self.spec))

    # ---- the page's requests: a JSON object in, a JSON object out ---------------------------

    def start(self) -> JSON:
        """The model as the page first shows it, with its own allocation."""
        spec = self.spec
        return {
            "name": views.text(spec.name), "source": spec.source,
            "indicators": views.indicators(spec), "bounds": views.bounds(spec),
            "cap": spec.cap, "reserve": spec.reserve_posts,
            "roundings": list(names(Rounding)), "languages": list(names(Language)),
            "units": len(self.computed(self.initial).result.table),
            "settings": self.initial.as_json(),
            "view": self.computed(self.initial).view,
        }

    def step(self, payload: Mapping[str, Any]) -> JSON:
        """Apply one change (``move``: an indicator and its new share, with ``locks``) to the
        page's ``settings`` and return the new allocation with the whole weight vector."""
        settings = self.settings(_object(payload, "settings"))
        move = payload.get("move")
        if move is not None:
            if not isinstance(move, Mapping) or not isinstance(move.get("name"), str):
                raise InputError("move: expected an indicator name and its new share")
            name = move["name"]
            weights = settings.weight_dict()
            if name not in weights:
                raise InputError(f"weights: no such indicator '{name}'"
                                 f"{did_you_mean(name, weights)}")
            locks = payload.get("locks") or []
            if not isinstance(locks, list) or not all(isinstance(k, str) for k in locks):
                raise InputError("locks: expected a list of indicator names")
            if name in locks:
                raise InputError(f"weights: '{name}' is locked; unlock it to change it")
            value = _weight(name, move.get("value"))
            settings = Settings(tuple(rebalance(weights, name, value, locks).items()),
                                settings.cap, settings.rounding, settings.bounds_off)
        return {"settings": settings.as_json(), **self.computed(settings).view}

    def explain(self, payload: Mapping[str, Any]) -> JSON:
        """One unit's explanation (``unit``: its id or name) under the page's settings."""
        computed = self.computed(self.settings(_object(payload, "settings")))
        result = computed.result
        unit = result.table.ids[unit_index(result, str(payload.get("unit", "")))]
        return views.waterfall(computed.report, result, unit)

    def bands(self, payload: Mapping[str, Any]) -> JSON:
        """The Monte Carlo bands around the page's weights: the defaults of
        ``allocator sensitivity --method montecarlo`` (1,000 samples, concentration 50, seed 0)
        on the page's model, cap and rounding."""
        from allocator.studies.montecarlo import MonteCarloOptions, montecarlo

        computed = self.computed(self.settings(_object(payload, "settings")))
        result = computed.result
        mc = montecarlo(result.spec, MonteCarloOptions())
        return views.bands(mc, result)

    def save(self, payload: Mapping[str, Any]) -> JSON:
        """Write the page's scenario: a model file and its report folder in the page's
        language, under the output folder (see :mod:`allocator.explore.scenario`)."""
        from allocator.explore.scenario import save_scenario

        settings = self.settings(_object(payload, "settings"))
        lang = read_language(payload.get("lang", Language.ZH.value))
        spec = self.computed(settings).result.spec
        with self._save_lock:
            saved = save_scenario(spec, self.spec, self.out_root, lang,
                                  switched_off=settings.bounds_off)
        return {"model_file": str(saved.model_file), "folder": str(saved.out_dir),
                "files": list(saved.files), "command": saved.command,
                "verify_command": f"allocator verify {saved.out_dir}",
                "verified": saved.verification.ok, "verification": saved.verification.lines()}


def _object(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping) or not isinstance(payload.get(key), Mapping):
        raise InputError(f"{key}: expected weights, cap, rounding and bounds")
    return payload[key]
