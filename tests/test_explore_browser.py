"""The weight explorer in a real browser: Playwright drives headless Chromium (Debian's
``chromium`` package, through ``executable_path``; .ci/run installs it) against the server
started in a thread of the test. The page's numbers must equal allocate()'s with the page's
weights; a saved scenario must verify; a foreign origin and a rebound DNS name are refused; an
invalid entry shows the library's message and the page goes on working.

Screenshots of the page in zh and en (1,280 x 800) go to $ALLOCATOR_SCREENSHOTS when it is set.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from playwright import sync_api  # a test extra

from allocator import allocate
from allocator.audit import verify
from allocator.errors import AllocatorError
from allocator.explore import server as server_module
from allocator.explore.scenario import reproduce_command
from allocator.explore.server import running
from allocator.explore.session import Explorer
from allocator.outputs.runfiles import read_allocation

from .support import HARBIN

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Not skipped: these tests need Debian's chromium (.ci/run installs it).
assert Path(CHROMIUM).exists(), "no chromium: apt-get install chromium (as .ci/run does)"

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--host-resolver-rules=MAP rebound.test 127.0.0.1"]
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS,
                                             timeout=TIMEOUT_MS)
        yield browser
        browser.close()


@pytest.fixture
def site(tmp_path):
    explorer = Explorer(HARBIN, out_root=tmp_path / "out")
    with running(explorer) as (url, token):
        yield url, token, explorer


@pytest.fixture
def page(browser, site):
    url, _, _ = site
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and not
            m.text.endswith("status of 422 (Unprocessable Entity)") else None)  # input errors
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    page.problems = problems
    yield page
    context.close()


def done(page, steps: int) -> None:
    """Wait until the page has finished ``steps`` updates since it loaded."""
    page.wait_for_function("n => window.explore.done >= n", arg=steps)


def weights(page) -> dict[str, float]:
    return page.evaluate("() => window.explore.settings.weights")


def table_posts(page) -> dict[str, int]:
    """Each unit's posts as the table shows them (the text of the allocation cell)."""
    cells = page.evaluate("""() => [...document.querySelectorAll('#table tr.unit')].map(
        (r) => [r.dataset.id, r.querySelector('td.col-allocation').firstChild.textContent])""")
    return {unit: int(text.replace(",", "")) for unit, text in cells}


def expected_posts(**kwargs) -> dict[str, int]:
    result = allocate(HARBIN, **kwargs)
    return dict(zip(result.table.ids, result.posts.tolist(), strict=True))


def slide(page, key: str, fraction: float) -> None:
    """Click the slider of indicator ``key`` at ``fraction`` of its width, as a user would."""
    box = page.locator(f".weight[data-key={key}] .wslider").bounding_box()
    page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)


def type_into(page, selector: str, text: str) -> None:
    page.locator(selector).fill(text)
    page.locator(selector).press("Enter")


def test_the_page_shows_the_model_allocation(page):
    assert table_posts(page) == expected_posts()
    assert page.locator("h1").inner_text().startswith("权重探索")
    caveat = page.locator("#caveat")
    assert caveat.is_visible() and "示意性" in caveat.inner_text()
    assert page.locator("#lambdas").inner_text().count("0.7417") == 1
    assert page.problems == []


def test_sliders_and_boxes_move_the_allocation_exactly_as_allocate(page):
    slide(page, "area", 0.6)
    done(page, 1)
    w = weights(page)
    assert abs(w["area"] - 0.6) < 0.03 and abs(sum(w.values()) - 1) < 1e-12
    assert abs(w["population"] / w["townships"] - 3) < 1e-9  # the others keep their proportions
    assert table_posts(page) == expected_posts(weights=w)
    assert page.locator("#table tr.changed").count() > 0
    assert page.locator("#table tr.changed .delta").count() == page.locator("#table tr.changed").count()
    # A lock keeps a weight; the number box takes a share as typed.
    page.locator(".weight[data-key=townships] .lock-box").check()
    assert page.locator(".weight[data-key=townships] .wslider").is_disabled()
    townships = w["townships"]
    type_into(page, ".weight[data-key=urban_population] .wbox", "0.2")
    done(page, 2)
    w = weights(page)
    assert w["urban_population"] == 0.2 and w["townships"] == townships
    assert table_posts(page) == expected_posts(weights=w)
    assert page.locator(".weight[data-key=urban_population] .wbox").input_value() == "0.2000"
    # Bounds off and another rounding, still equal to the library's result for them.
    page.locator("#bound-list input[data-key=max_cut]").uncheck()
    done(page, 3)
    page.locator("#rounding").select_option("webster")
    done(page, 4)
    view = page.evaluate("() => window.explore.view")
    assert {u["id"]: u["posts"] for u in view["units"]} == table_posts(page)
    assert "max_cut" not in {u["binding"] for u in view["units"]}
    page.locator("#bound-list input[data-key=max_cut]").check()
    done(page, 5)
    assert table_posts(page) == expected_posts(weights=weights(page), rounding="webster")
    assert page.problems == []


def test_language_switch(page):
    before = table_posts(page)
    page.click("button[data-lang=en]")
    assert page.locator("h1").inner_text().startswith("Weight explorer")
    headers = page.locator("#table th").all_inner_texts()
    assert "Allocation" in headers and "Zero-based target" in headers
    assert page.locator("#caveat").inner_text().startswith("Note: Current posts")
    assert "Districts subtotal" in page.locator("#table").inner_text()
    assert page.locator("#rounding option[value=hamilton]").inner_text() == \
        "Largest remainder (Hamilton)"
    assert table_posts(page) == before
    page.click("button[data-lang=zh]")
    assert "优化配置数" in page.locator("#table th").all_inner_texts()
    assert page.evaluate("() => document.documentElement.lang") == "zh"


def test_a_click_on_a_unit_shows_its_waterfall(page, site):
    _, _, explorer = site
    page.click("#table tr.unit[data-id='230108']")
    page.wait_for_selector("#explain-panel:not([hidden])")
    page.wait_for_function("() => window.explore.explanation && window.explore.explanation.id")
    assert page.locator("#explain-title").inner_text().startswith("230108 平房区")
    assert "保底下限" in page.locator("#explain-binding").inner_text()
    shown = page.evaluate("() => window.explore.explanation")
    assert shown == json.loads(json.dumps(explorer.explain(
        {"settings": explorer.initial.as_json(), "unit": "230108"})))
    assert shown["parts"][-1]["value"] == expected_posts()["230108"]
    assert page.locator("#table tr.selected").get_attribute("data-id") == "230108"
    # The waterfall follows the weights.
    slide(page, "population", 0.2)
    done(page, 1)
    page.wait_for_function("() => window.explore.explanation.parts.at(-1).value === "
                           "window.explore.view.units.find(u => u.id === '230108').posts")


def library_message(**kwargs) -> str:
    """What allocate() says for these overrides (the page must say the same)."""
    try:
        allocate(HARBIN, **kwargs)
    except AllocatorError as exc:
        return str(exc)
    raise AssertionError("no error")


def test_an_invalid_entry_shows_the_message_and_the_page_goes_on(page):
    before = table_posts(page)
    type_into(page, ".weight[data-key=area] .wbox", "abc")
    done(page, 1)
    message = page.locator("#message")
    assert message.is_visible()
    assert message.inner_text() == ("weights area=abc: a weight given for a run is the "
                                    "indicator's share, a number between 0 and 1")
    assert "invalid" in page.locator(".weight[data-key=area] .wbox").get_attribute("class")
    assert table_posts(page) == before
    model_weights = weights(page)
    for steps, cap in ((2, 0), (3, 62000)):
        type_into(page, "#cap", str(cap))
        done(page, steps)
        assert message.inner_text() == library_message(weights=model_weights, cap=cap)
        assert "invalid" in page.locator("#cap").get_attribute("class")
    type_into(page, "#cap", "60806")
    done(page, 4)
    assert message.is_hidden()
    type_into(page, ".weight[data-key=area] .wbox", "0.3")
    done(page, 5)
    assert message.is_hidden() and weights(page)["area"] == 0.3
    assert table_posts(page) == expected_posts(weights=weights(page))
    assert page.problems == []


def test_save_scenario_writes_a_folder_that_verifies(page, site, tmp_path):
    slide(page, "area", 0.45)
    done(page, 1)
    page.click("button[data-lang=en]")
    page.click("#save")
    page.wait_for_function("() => window.explore.saved !== null", timeout=120_000)
    saved = page.evaluate("() => window.explore.saved")
    assert "Verified" in page.locator("#saved").inner_text()
    folder, model_file = Path(saved["folder"]), Path(saved["model_file"])
    assert folder.parent == tmp_path / "out" and model_file.is_file()
    assert verify(folder).ok
    posts = read_allocation(folder / "allocation.csv").set_index("id")["allocation"].to_dict()
    assert posts == table_posts(page)
    assert page.locator("#saved-command").inner_text() == saved["command"] == \
        reproduce_command(model_file, folder, "en")
    assert (folder / "report.html").is_file() and (folder / "report.docx").is_file()


def test_monte_carlo_bands_on_demand(page):
    assert page.locator("#chart-bands").is_hidden()
    page.click("#bands-button")
    page.wait_for_function("() => window.explore.bands !== null", timeout=120_000)
    assert page.locator("#chart-bands").is_visible()
    bands = page.evaluate("() => window.explore.bands")
    assert {u["id"]: u["base"] for u in bands["units"]} == table_posts(page)
    assert "1,000" in page.locator("#bands-info").inner_text()


def test_foreign_origin_and_rebound_name_are_refused(browser, site, monkeypatch):
    url, token, explorer = site
    port = int(url.split(":")[2].split("/")[0])
    seen: list[tuple[str, str | None]] = []
    refusal = server_module.Guard.refusal

    def recording(self, scope):
        verdict = refusal(self, scope)
        seen.append((scope["path"], verdict))
        return verdict

    monkeypatch.setattr(server_module.Guard, "refusal", recording)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        # DNS rebinding: a name that resolves to 127.0.0.1 reaches the port, not the explorer.
        response = page.goto(f"http://rebound.test:{port}/?token={token}")
        assert response.status == 403 and "Host header" in page.content()
        # Another site on this machine posts to the explorer, token and all.
        attack = (f"<script>fetch('http://127.0.0.1:{port}/api/save?token={token}', {{method: "
                  "'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, body: "
                  f"JSON.stringify({{settings: {json.dumps(explorer.initial.as_json())}, "
                  "lang: 'en'})}).then(() => document.title = 'sent', "
                  "() => document.title = 'failed');</script>")
        with _other_site(attack) as other:
            page.goto(other)
            page.wait_for_function("() => document.title === 'sent' || document.title === 'failed'")
    finally:
        context.close()
    assert ("/", "refused: this server answers only to its own address (Host header)") in seen
    assert ("/api/save", "refused: requests from other sites are not allowed (Origin header)") in seen
    assert not explorer.out_root.exists()


class _OnePage(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


class _other_site:
    """A plain web server on another port of 127.0.0.1 that serves one page."""

    def __init__(self, html: str) -> None:
        handler = type("Page", (_OnePage,), {"body": html.encode()})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_screenshots_in_both_languages(page, tmp_path):
    folder = Path(os.environ.get("ALLOCATOR_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.click("#table tr.unit[data-id='230112']")
    page.wait_for_selector("#explain-panel:not([hidden])")
    for lang in ("zh", "en"):
        page.click(f"button[data-lang={lang}]")
        page.evaluate("() => document.getElementById('results').scrollTo(0, 0)")
        path = folder / f"explore_{lang}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 20_000
    assert page.problems == []
