"""The HTML report in a real browser: headless Chromium (Playwright, Debian's ``chromium``, as in
test_explore_browser.py) measures every table of the bundled models' reports, in Chinese and
English, in a 1,280-pixel window: none may need sideways scrolling (long text cells wrap)."""

from __future__ import annotations

import datetime
import shutil
import warnings
from pathlib import Path

import pytest
from playwright import sync_api  # a test extra

from allocator.report import ReportOptions, write_report

from .support import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Not skipped: these tests need Debian's chromium (.ci/run installs it).
assert Path(CHROMIUM).exists(), "no chromium: apt-get install chromium (as .ci/run does)"

MODELS = ("harbin_2020", "harbin_2020_constraints", "china_counties_2020",
          "china_counties_2020_provinces")
WINDOW = 1280
MEASURE = """() => Array.from(document.querySelectorAll('div.wide table')).map(t => [t.id,
    Math.ceil(t.getBoundingClientRect().width), t.parentElement.clientWidth,
    document.documentElement.scrollWidth])"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The HTML report of every bundled model in both languages (no charts: only the tables)."""
    out = tmp_path_factory.mktemp("html")
    found = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model in MODELS:
            for lang in ("zh", "en"):
                written = write_report(ROOT / "models" / f"{model}.toml", out / f"{model}_{lang}",
                                       ReportOptions(formats=("html",), lang=lang, charts=False,
                                                     date=datetime.date(2025, 1, 15)))
                found[model, lang] = written.out_dir / "report.html"
    return found


def test_every_table_fits_a_1280_pixel_window(pages):
    """Seen: the English report of the Harbin constraints model was 1,391 pixels wide (the
    names of the constraints that hold units), the Chinese national one with provinces 1,409."""
    too_wide = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": WINDOW, "height": 900}).new_page()
        for (model, lang), path in pages.items():
            page.goto(path.as_uri())
            for key, width, room, document in page.evaluate(MEASURE):
                assert room > 1000  # the page gives its tables the window's width
                if width > room or document > WINDOW:
                    too_wide.append(f"{model} {lang} {key}: {width} px in {room}")
        browser.close()
    assert not too_wide
