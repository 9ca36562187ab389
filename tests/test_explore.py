"""The weight explorer without a browser: the rebalancing of the weights, the settings checked
like the command line's, every number equal to allocate()'s, saving a scenario, the server's
guard (token, Host, Origin) and the command (its address line, Ctrl-C and a closed terminal)."""

from __future__ import annotations

import http.client
import json
import math
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator import allocate
from allocator.errors import AllocatorError, InputError
from allocator.explore.server import HOST, cookie_name, listen, running
from allocator.explore.session import Explorer, rebalance
from allocator.explore.views import PAGE_COLUMNS
from allocator.outputs.audit import verify
from allocator.outputs.runfiles import read_allocation
from allocator.report.build import build_report
from allocator.studies.montecarlo import MonteCarloOptions, montecarlo

from .support import CHINA, HARBIN, ROOT, run_cli, write_csv, write_model

NAMES = ("population", "urban_population", "area", "townships")


@pytest.fixture(scope="module")
def harbin() -> Explorer:
    return Explorer(HARBIN)


def posts_of(view: dict) -> list[int]:
    return [u["posts"] for u in view["units"]]


# ---- the weights -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=6).filter(lambda w: sum(w) > 0),
       st.data())
def test_rebalance_keeps_locks_and_proportions(raw, data):
    total = math.fsum(raw)
    weights = {f"k{i}": w / total for i, w in enumerate(raw)}
    names = list(weights)
    name = data.draw(st.sampled_from(names))
    locks = set(data.draw(st.lists(st.sampled_from(names))))
    value = data.draw(st.floats(0, 1))
    out = rebalance(weights, name, value, locks)
    assert list(out) == names
    assert math.isclose(math.fsum(out.values()), 1.0, abs_tol=1e-12)
    assert all(v >= 0 for v in out.values())
    for k in locks - {name}:
        assert out[k] == weights[k]
    free = [k for k in names if k not in locks and k != name]
    if not free:
        assert out == weights
        return
    room = 1 - math.fsum(weights[k] for k in locks - {name})
    assert math.isclose(out[name], min(value, max(room, 0)), abs_tol=1e-12)
    before = math.fsum(weights[k] for k in free)
    if before > 0:  # the free weights keep their proportions
        after = math.fsum(out[k] for k in free)
        for k in free:
            assert math.isclose(out[k] * before, weights[k] * after, abs_tol=1e-12)


def test_rebalance_with_a_tiny_weight():
    assert rebalance({"a": 1.0, "b": 5e-324}, "a", 0.5) == {"a": 0.5, "b": 0.5}
    assert rebalance({"a": 0.5, "b": 0.5}, "a", 0.7, locks={"b"}) == {"a": 0.5, "b": 0.5}


def test_step_rescales_the_others_and_equals_allocate(harbin):
    view = harbin.step({"settings": harbin.initial.as_json(), "locks": ["townships"],
                        "move": {"name": "area", "value": 0.4}})
    w = view["weights"]
    assert w["area"] == 0.4 and w["townships"] == 0.15
    assert math.isclose(w["population"] / w["urban_population"], 0.45 / 0.15)
    assert view["settings"]["weights"] == w
    result = allocate(HARBIN, weights=w)
    assert posts_of(view) == result.posts.tolist()
    units = {u["id"]: u for u in view["units"]}
    assert [units[i]["binding"] for i in result.table.ids] == list(result.binding)
    assert {x["pool"]: x["value"] for x in view["lambdas"] if x["pool"] is not None} == \
        pytest.approx(result.lambdas)


def test_table_rows_are_the_report_comparison(harbin):
    view = harbin.step({"settings": harbin.initial.as_json()})
    table = view["table"]
    keys = [c["key"] for c in table["columns"]]
    assert keys == ["id", "label", "target", "allocation", "actual", "change", "change_pct",
                    "per10k_before", "per10k_after", "binding"]
    levels = [r["level"] for r in table["rows"]]
    assert levels.count("subtotal") == 2 and levels[-1] == "total"
    total = table["rows"][-1]["cells"]
    assert total[keys.index("allocation")] == 60806
    assert total[0] == {"zh": "合计", "en": "Total"}
    assert view["notes"][0]["en"].startswith("Current posts are illustrative")
    assert len(view["charts"]["allocation"]["ids"]) == 18 and "per10k" in view["charts"]


def _same_as_the_report(explorer: Explorer, payload: dict) -> None:
    """Every cell of the page's table is the report's comparison table's, in both languages."""
    view = explorer.step(payload)
    result = explorer.result(explorer.settings(view["settings"]))
    report = build_report(result).table("comparison")
    columns = [j for j, c in enumerate(report.columns) if c.key in PAGE_COLUMNS]
    assert [c["key"] for c in view["table"]["columns"]] == [report.columns[j].key for j in columns]
    assert [r["level"] for r in view["table"]["rows"]] == [r.level for r in report.rows]
    for i, row in enumerate(view["table"]["rows"]):
        for cell, j in zip(row["cells"], columns, strict=True):
            for lang in ("zh", "en"):
                shown = cell[lang] if isinstance(cell, dict) else cell
                assert shown == report.value(i, j, lang), (i, report.columns[j].key, lang)
                assert type(shown) is type(report.value(i, j, lang))


@pytest.mark.parametrize("move", [None, {"name": "area", "value": 0.55},
                                  {"name": "population", "value": 0.05}])
def test_the_page_table_is_the_report_table_cell_for_cell(harbin, move):
    _same_as_the_report(harbin, {"settings": harbin.initial.as_json(), "move": move})
    _same_as_the_report(harbin, {"settings": {**harbin.initial.as_json(), "rounding": "dhondt",
                                              "bounds": {"floor": False}}, "move": move})


def test_the_page_table_is_the_report_table_for_odd_data(tmp_path):
    """No groups, a label that looks like a formula, a unit without residents or posts."""
    write_csv(tmp_path / "u.csv", ["code", "name", "pop", "area", "posts"], [
        ["A1", "=SUM(1)", 0, 10, 0], ["A2", "+north", 300, 20, 260.5], ["A3", "east", 50, 90, 150],
    ])
    model = write_model(tmp_path / "m.toml", {"name": "odd", "data": "u.csv", "id": "code",
                                              "label": "name", "actual": "posts",
                                              "population": "pop", "cap": 501,
                                              "indicators": {"pop": {"column": "pop", "weight": 0.5},
                                                             "area": {"column": "area", "weight": 0.5}},
                                              "bounds": {"floor": 20}})
    explorer = Explorer(model)
    _same_as_the_report(explorer, {"settings": explorer.initial.as_json()})
    _same_as_the_report(explorer, {"settings": explorer.initial.as_json(),
                                   "move": {"name": "area", "value": 0.9}})


def test_the_page_table_is_the_report_table_for_the_counties():
    explorer = Explorer(CHINA)
    _same_as_the_report(explorer, {"settings": explorer.initial.as_json(),
                                   "move": {"name": "area", "value": 0.1}})


def test_rounding_and_bounds_equal_allocate_of_the_model_without_them(harbin, tmp_path):
    settings_ = {**harbin.initial.as_json(), "rounding": "webster",
                 "bounds": {"max_cut": False, "floor": True}}
    view = harbin.step({"settings": settings_})
    text = HARBIN.read_text(encoding="utf-8")
    text = re.sub(r"^max_cut = .*$", "", text, flags=re.M).replace(
        'data = "../data/', f'data = "{(ROOT / "data").as_posix()}/')
    without = tmp_path / "no_cut.toml"
    without.write_text(text, encoding="utf-8")
    expected = allocate(without, weights=view["weights"], rounding="webster")
    assert posts_of(view) == expected.posts.tolist()
    assert "max_cut" not in {u["binding"] for u in view["units"]}
    assert "max_cut" in {u["binding"] for u in harbin.step(
        {"settings": harbin.initial.as_json()})["units"]}
    assert view["settings"]["bounds"] == {"max_cut": False}


def test_cap_equals_allocate_with_that_cap(small_model):
    explorer = Explorer(small_model)
    view = explorer.step({"settings": {**explorer.initial.as_json(), "cap": " 1200 "},
                          "move": {"name": "area", "value": "0.5"}})
    assert view["settings"]["cap"] == 1200 and view["weights"] == {"pop": 0.5, "area": 0.5}
    assert posts_of(view) == allocate(small_model, weights=view["weights"], cap=1200).posts.tolist()


SHARE = "a weight given for a run is the indicator's share, a number between 0 and 1"


@pytest.mark.parametrize(("change", "message"), [
    ({"move": {"name": "area", "value": "abc"}}, f"weights area=abc: {SHARE}"),
    ({"move": {"name": "area", "value": " -0.1"}}, f"weights area=-0.1: {SHARE}"),
    ({"move": {"name": "area", "value": "1.5"}}, f"weights area=1.5: {SHARE}"),
    ({"move": {"name": "area", "value": True}}, f"weights area=True: {SHARE}"),
    ({"move": {"name": "areaa", "value": 0.3}},
     "weights: no such indicator 'areaa' (did you mean 'area'?)"),
    ({"move": {"name": "area", "value": 0.3}, "locks": ["area"]},
     "weights: 'area' is locked; unlock it to change it"),
    ({"settings": {"cap": "lots"}}, "cap 'lots': must be a whole number of posts"),
    ({"settings": {"rounding": "webstr"}},
     "rounding 'webstr': use one of hamilton, webster, dhondt, huntington-hill "
     "(did you mean 'webster'?)"),
    ({"settings": {"bounds": {"ceiling": False}}},
     "bounds: the model sets no bound 'ceiling' (it sets: floor, max_cut, max_increase)"),
    ({"settings": {"bounds": {"floor": "off"}}}, "bounds: 'floor' must be on (true) or off (false)"),
])
def test_invalid_entries_give_a_message_in_library_words(harbin, change, message):
    payload = {"settings": {**harbin.initial.as_json(), **change.pop("settings", {})}, **change}
    with pytest.raises(InputError) as caught:
        harbin.step(payload)
    assert str(caught.value) == message


@pytest.mark.parametrize("cap", [0, -5, 62000])
def test_a_cap_the_model_cannot_take_gives_the_library_message(harbin, cap):
    """The page says what allocate() says for the same weights and cap."""
    with pytest.raises(AllocatorError) as expected:
        allocate(HARBIN, weights=harbin.initial.weight_dict(), cap=cap)
    with pytest.raises(AllocatorError) as caught:
        harbin.step({"settings": {**harbin.initial.as_json(), "cap": str(cap)}})
    assert type(caught.value) is type(expected.value)
    assert str(caught.value) == str(expected.value)


def test_explain_and_bands(harbin):
    settings_ = harbin.initial.as_json()
    waterfall = harbin.explain({"settings": settings_, "unit": "平房区"})
    assert waterfall["id"] == "230108"
    assert waterfall["binding"] == {"zh": "保底下限", "en": "Floor"}
    parts = waterfall["parts"]
    assert parts[-1] == {"key": "allocation", "name": {"zh": "优化配置数", "en": "Allocation"},
                         "value": 1500, "kind": "total"}
    target = next(p["value"] for p in parts if p["key"] == "target")
    assert math.isclose(sum(p["value"] for p in parts if p["key"].startswith("from:")), target)
    with pytest.raises(InputError, match="no unit with id or name 'nowhere'"):
        harbin.explain({"settings": settings_, "unit": "nowhere"})
    bands = harbin.bands({"settings": settings_})
    mc = montecarlo(HARBIN, MonteCarloOptions())
    assert bands["samples"] == 1000 and len(bands["units"]) == 18
    by_id = {u["id"]: u for u in bands["units"]}
    posts = dict(zip(mc.summary["id"], mc.summary["base"], strict=True))
    assert {i: u["base"] for i, u in by_id.items()} == posts
    assert all(u["p5"] <= u["p50"] <= u["p95"] for u in bands["units"])
    page = dict(zip(allocate(HARBIN).table.ids, allocate(HARBIN).posts.tolist(), strict=True))
    assert {i: u["base"] for i, u in by_id.items()} == page


def test_an_invalid_model_fails_before_the_server_starts(tmp_path):
    write_csv(tmp_path / "u.csv", ["code", "pop"], [["a", 1], ["b", 2]])
    model = write_model(tmp_path / "m.toml", {"name": "m", "data": "u.csv", "id": "code",
                                              "cap": 10,
                                              "indicators": {"pop": {"column": "popp", "weight": 1}}})
    result = run_cli("explore", str(model), "--no-browser")
    assert result.exit_code == 2
    assert "popp" in result.output


# ---- save scenario -----------------------------------------------------------------------------


def test_save_writes_a_model_file_and_a_report_folder_that_verify(tmp_path):
    explorer = Explorer(HARBIN, out_root=tmp_path / "out")
    settings_ = {**explorer.initial.as_json(), "bounds": {"max_increase": False}}
    view = explorer.step({"settings": settings_, "move": {"name": "area", "value": 0.35}})
    saved = explorer.save({"settings": view["settings"], "lang": "en"})
    model_file, folder = Path(saved["model_file"]), Path(saved["folder"])
    assert model_file.parent == folder.parent == tmp_path / "out"
    assert re.fullmatch(r"harbin_2020_scenario_[0-9a-f]{8}\.toml", model_file.name)
    assert folder.name == model_file.stem + "_report"
    assert {"allocation.csv", "run.json", "report.xlsx", "report.docx", "allocation.png"} <= \
        set(saved["files"])
    assert saved["verified"] and verify(folder).ok
    assert read_allocation(folder / "allocation.csv")["allocation"].tolist() == posts_of(view)
    text = model_file.read_text(encoding="utf-8")
    assert "max_increase =" not in text and "Bounds switched off: max_increase" in text
    # The shown command writes the same folder again.
    before = (folder / "allocation.csv").read_bytes()
    words = shlex.split(saved["command"])
    assert words[:2] == ["allocator", "report"] and "--lang" in words
    result = run_cli(*words[1:])
    assert result.exit_code == 0, result.output
    assert (folder / "allocation.csv").read_bytes() == before


def test_save_keeps_the_command_line_overwrite_rules(tmp_path):
    explorer = Explorer(HARBIN, out_root=tmp_path)
    saved = explorer.save({"settings": explorer.initial.as_json(), "lang": "zh"})
    folder, model_file = Path(saved["folder"]), Path(saved["model_file"])
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="holds files that are not allocator results"):
        explorer.save({"settings": explorer.initial.as_json(), "lang": "zh"})
    (folder / "notes.txt").unlink()
    model_file.write_text(model_file.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    with pytest.raises(InputError, match="exists and holds another file"):
        explorer.save({"settings": explorer.initial.as_json(), "lang": "zh"})
    assert model_file.read_text(encoding="utf-8").endswith("# edited\n")


def test_save_leaves_no_model_file_when_the_report_cannot_be_written(tmp_path, monkeypatch):
    from allocator.explore import scenario

    explorer = Explorer(HARBIN, out_root=tmp_path)
    view = explorer.step({"settings": explorer.initial.as_json(),
                          "move": {"name": "area", "value": 0.3}})
    with pytest.raises(InputError, match="language 'fr': use zh or en"):
        explorer.save({"settings": view["settings"], "lang": "fr"})
    assert list(tmp_path.iterdir()) == []

    def fail(*args, **kwargs):
        raise InputError("the disk is full")

    monkeypatch.setattr(scenario, "write_report", fail)
    with pytest.raises(InputError, match="the disk is full"):
        explorer.save({"settings": view["settings"], "lang": "zh"})
    assert list(tmp_path.iterdir()) == []


# ---- the server ------------------------------------------------------------------------------


def request(port: int, method: str, path: str, *, body: object = None,
            headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json"} if body is not None else {}
    all_headers.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server(harbin):
    with running(harbin) as (url, token):
        port = int(url.split(":")[2].split("/")[0])
        yield port, token


def test_the_page_needs_the_token_and_sets_a_cookie(server):
    port, token = server
    status, headers, body = request(port, "GET", f"/?token={token}")
    assert status == 200 and b"app.js" in body
    cookie = headers["set-cookie"]
    assert cookie.startswith(f"{cookie_name(port)}={token};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    for path in ("/", "/?token=wrong", "/api/start", "/static/app.js"):
        status, _, body = request(port, "GET", path)
        assert status == 403, path
        assert b"open the address" in body
    assert request(port, "GET", "/static/app.js",
                   headers={"Cookie": f"{cookie_name(port)}={token}"})[0] == 200
    assert request(port, "GET", "/api/start", headers={"X-Explore-Token": token})[0] == 200


def test_foreign_origin_and_host_are_refused(server):
    port, token = server
    auth = {"X-Explore-Token": token}
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{port + 1}",
                   f"https://127.0.0.1:{port}"):
        status, _, body = request(port, "POST", "/api/step", body={},
                                  headers={**auth, "Origin": origin})
        assert status == 403 and b"Origin" in body, origin
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}"):
        status, _, body = request(port, "GET", f"/?token={token}", headers={"Host": host})
        assert status == 403 and b"Host" in body, host
    status, _, _ = request(port, "GET", f"/?token={token}",
                           headers={"Host": f"localhost:{port}",
                                    "Origin": f"http://localhost:{port}"})
    assert status == 200


def test_api_answers_json_and_errors_with_the_message(server, harbin):
    port, token = server
    auth = {"X-Explore-Token": token}
    status, _, body = request(port, "POST", "/api/step", headers=auth, body={
        "settings": harbin.initial.as_json(), "move": {"name": "area", "value": "x"}})
    assert status == 422
    assert json.loads(body) == {"error": f"weights area=x: {SHARE}"}
    status, _, body = request(port, "POST", "/api/step", headers=auth,
                              body={"settings": harbin.initial.as_json()})
    assert status == 200 and sum(posts_of(json.loads(body))) == 60806
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("POST", "/api/step", body=b"{not json", headers={
        **auth, "Content-Type": "application/json"})
    assert conn.getresponse().status == 422
    conn.close()
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("POST", "/api/save", body=b"{}", headers={**auth, "Content-Type": "text/plain"})
    response = conn.getresponse()
    assert response.status == 422 and b"Content-Type: application/json" in response.read()
    conn.close()
    assert request(port, "GET", "/api/step", headers=auth)[0] == 405
    assert request(port, "GET", "/static/../session.py", headers=auth)[0] == 404


def test_the_server_listens_on_loopback_only(server):
    port, _ = server
    with socket.socket() as probe:
        probe.settimeout(5)
        probe.connect((HOST, port))
        assert probe.getpeername()[0] == "127.0.0.1"
    with pytest.raises(InputError, match=rf"port {port}: cannot listen on 127.0.0.1:{port}"):
        listen(port)


# ---- the command -----------------------------------------------------------------------------


def _start(args: list[str], cwd: Path, **env_vars: str) -> tuple[subprocess.Popen, queue.Queue]:
    code = "import sys; from allocator.cli import main; sys.argv[0] = 'allocator'; main()"
    env = {**os.environ, **env_vars,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def _address(lines: queue.Queue, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1).rstrip("\n")
        except queue.Empty:
            continue
        if line.startswith("http://"):
            return line
    raise AssertionError("no address printed")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGHUP, signal.SIGTERM])
def test_command_prints_its_address_and_stops_cleanly(tmp_path, stop):
    process, lines = _start(["explore", str(HARBIN), "--no-browser"], tmp_path)
    try:
        url = _address(lines)
        assert re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\?token=[A-Za-z0-9_-]{43}", url)
        port = int(url.split(":")[2].split("/")[0])
        assert request(port, "GET", url.split(str(port), 1)[1])[0] == 200
        process.send_signal(stop)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert "the explorer stopped" in "".join(rest)


def test_command_opens_the_page_in_the_browser(tmp_path):
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text("import pathlib, sys\n"
                       f"pathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n", encoding="utf-8")
    process, lines = _start(["explore", str(HARBIN)], tmp_path,
                            BROWSER=f"{shlex.quote(sys.executable)} {shlex.quote(str(browser))} %s")
    try:
        url = _address(lines)
        deadline = time.monotonic() + 30
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert opened.read_text() == url
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_command_port_in_use_is_an_input_error():
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run_cli("explore", str(HARBIN), "--no-browser", "--port", str(port))
    assert result.exit_code == 2
    assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in result.output


def test_every_file_of_the_page_ships_in_the_package():
    """pyproject's package-data patterns cover every file under allocator/explore/static."""
    import glob
    import tomllib

    from allocator.explore.server import STATIC

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"]["setuptools"]["package-data"]["allocator.explore"]
    shipped = {name for pattern in patterns for name in glob.glob(pattern, root_dir=STATIC.parent)}
    files = {p.relative_to(STATIC.parent).as_posix() for p in STATIC.rglob("*") if p.is_file()}
    assert len(files) >= 8 and "static/vendor/echarts/LICENSE" in files
    assert files <= shipped, files - shipped


def test_weights_and_tables_are_json_safe(harbin):
    view = harbin.start()
    text = json.dumps(view, allow_nan=False)
    assert json.loads(text)["units"] == 18
    frame = pd.DataFrame(view["view"]["units"])
    assert frame["posts"].sum() == 60806
    assert np.isfinite(view["view"]["charts"]["per10k"]["series"][1]["values"]).all()
