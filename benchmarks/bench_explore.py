"""Slider to updated table in the explorer's page, measured in the browser.

    python benchmarks/bench_explore.py [--moves N] [--chromium PATH]

For Harbin (budget 200 ms) and the 2,810-county model (budget 1.5 s): the page is opened in
headless Chromium (Playwright), a weight slider is clicked at N positions in turn, and the page
records for each move the time from the slider's input event to the table drawn with the new
allocation (the page's debounce, the request, the library's allocation and report tables, the
JSON, and drawing the table; the charts are drawn after it). Printed: median, 90th percentile
and worst, the median of each part (wait: the page's debounce; request: to the answer; draw:
the table's DOM; paint: to the next frame; charts: drawn after), and the library's part
(:meth:`Explorer.step` in-process) beside it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from allocator.explore.server import running  # noqa: E402
from allocator.explore.session import Explorer  # noqa: E402

MODELS = (("models/harbin_2020.toml", "area", 200.0),
          ("models/china_counties_2020.toml", "area", 1500.0))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def library_ms(explorer: Explorer, key: str, moves: int) -> list[float]:
    """The server's part of a move: rebalance, allocate, explain, report tables, page JSON."""
    times = []
    settings = explorer.initial.as_json()
    for k in range(moves):
        start = time.perf_counter()
        view = explorer.step({"settings": settings,
                              "move": {"name": key, "value": 0.1 + 0.6 * k / max(moves - 1, 1)}})
        times.append(1000 * (time.perf_counter() - start))
        settings = view["settings"]
    return times


def page_ms(browser, explorer: Explorer, key: str, moves: int) -> list[float]:
    """Slider to updated table in the page, for ``moves`` clicks along the slider."""
    with running(explorer) as (url, _):
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(60_000)
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        box = page.locator(f".weight[data-key={key}] .wslider").bounding_box()
        for k in range(moves):
            fraction = 0.1 + 0.6 * k / max(moves - 1, 1)
            page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
            page.wait_for_function("n => window.explore.done >= n", arg=k + 1)
        times = page.evaluate("() => window.explore.timings")
        splits = page.evaluate("() => window.explore.splits")
        page.close()
    parts = {key: statistics.median(s[key] for s in splits) for key in splits[0]}
    print("  median parts (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in parts.items()))
    return [float(t) for t in times]


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return (f"median {statistics.median(times):7.0f} ms  p90 {p90:7.0f} ms  "
            f"worst {max(times):7.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=12)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as tmp:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=ARGS)
        for model, key, budget in MODELS:
            explorer = Explorer(ROOT / model, out_root=Path(tmp))
            server = library_ms(explorer, key, args.moves)
            explorer = Explorer(ROOT / model, out_root=Path(tmp))  # an empty cache again
            page = page_ms(browser, explorer, key, args.moves)
            units = explorer.start()["units"]
            verdict = "within" if statistics.median(page) <= budget else "OVER"
            print(f"{Path(model).stem} ({units:,} units), {args.moves} moves of '{key}'")
            print(f"  slider to table, in the browser: {summary(page)}   "
                  f"({verdict} the {budget:,.0f} ms budget)")
            print(f"  of which the library (in-process): {summary(server)}")
        browser.close()


if __name__ == "__main__":
    main()
