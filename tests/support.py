"""Helpers shared by the tests: paths, small models and tables, and the one command-line runner."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import tomli_w
from typer.testing import CliRunner

from allocator.cli import app
from allocator.core.problem import Pool, Problem

ROOT = Path(__file__).resolve().parents[1]
HARBIN = ROOT / "models" / "harbin_2020.toml"
CHINA = ROOT / "models" / "china_counties_2020.toml"
BAD_INPUTS = Path(__file__).parent / "bad_inputs"
GOOD_TABLE = (BAD_INPUTS / "units.csv").read_text(encoding="utf-8")


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    """A CSV file from a header and rows of cells."""
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_model(path: Path, model: dict, *, extra: str = "") -> Path:
    """A TOML model file from a dict (keys whose value is None are left out), then ``extra`` text."""
    text = tomli_w.dumps({k: v for k, v in model.items() if v is not None})
    path.write_text(text + extra, encoding="utf-8")
    return path


def demo_model(folder: Path, *, name: str = "demo", data: str = "units.csv", cap: int = 400,
               extra: str = "", table: str | None = GOOD_TABLE, stem: str = "model") -> Path:
    """A small valid model (and its table, unless ``table`` is None) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    if table is not None:
        (folder / data).write_text(table, encoding="utf-8")
    return write_model(folder / f"{stem}.toml", {
        "name": name, "data": data, "id": "code", "label": "name", "group": "type",
        "actual": "posts", "cap": cap,
        "indicators": {"population": {"column": "population", "weight": 0.7},
                       "area": {"column": "area", "weight": 0.3}},
    }, extra=extra)


def transition_model(tmp_path: Path, *, rows=None, transition: str = "", bounds=None) -> Path:
    """Five units with today's staff and a per-unit rate; cap 1,000 (today's posts: 1,000)."""
    write_csv(tmp_path / "units.csv", ["code", "name", "kind", "pop", "area", "posts", "rate",
                                       "leave1", "leave2"], rows or [
        ["U1", "North", "city", 100, 10, 120, 0.05, 3, 2],
        ["U2", "South", "city", 300, 20, 260, 0.04, 9, 10],
        ["U3", "East", "rural", 50, 90, 150, 0.06, 8, 7],
        ["U4", "West", "rural", 150, 40, 200, 0.05, 1, 4],
        ["U5", "Hill", "rural", 400, 40, 270, 0.03, 6, 6],
    ])
    return write_model(tmp_path / "t.toml", {
        "name": "transition", "data": "units.csv", "id": "code", "label": "name",
        "group": "kind", "actual": "posts", "cap": 1000,
        "indicators": {"pop": {"column": "pop", "weight": 0.7},
                       "area": {"column": "area", "weight": 0.3, "transform": "sqrt"}},
        "bounds": bounds,
    }, extra="[transition]\n" + transition if transition else "")


def make_problem(target, lower=None, upper=None, pools=None, ids=None) -> Problem:
    """A Problem from arrays; ``pools`` is a list of (member indices, total)."""
    target = np.asarray(target, dtype=float)
    n = len(target)
    lower = np.zeros(n) if lower is None else np.asarray(lower, dtype=float)
    upper = np.full(n, np.inf) if upper is None else np.asarray(upper, dtype=float)
    if pools is None:
        pools = [(np.arange(n), int(round(target.sum())))]
    return Problem(
        ids=tuple(ids or (f"u{i}" for i in range(n))),
        target=target,
        lower=lower,
        upper=upper,
        lower_rule=tuple("floor" if lower[i] > 0 else "" for i in range(n)),
        upper_rule=tuple("ceiling" if np.isfinite(upper[i]) else "" for i in range(n)),
        pools=tuple(Pool(f"g{k}" if len(pools) > 1 else "", np.asarray(m, dtype=int), total)
                    for k, (m, total) in enumerate(pools)),
        total=sum(total for _, total in pools),
    )


@dataclass(frozen=True)
class Outcome:
    """What one command-line call did."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    @property
    def output(self) -> str:
        """Everything the call printed: standard output, then standard error."""
        return self.stdout + self.stderr


def run_cli(*args: str | Path, input: str | None = None, env: dict[str, str] | None = None) -> Outcome:
    """Run the command line in-process, as a user would from a shell."""
    result = CliRunner().invoke(app, [str(a) for a in args], input=input, env=env)
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return Outcome(result.exit_code, result.stdout, result.stderr, exception)


def expectation(case: Path) -> tuple[int, str]:
    """The exit code and message a bad-input case file declares in its first two lines."""
    lines = case.read_text(encoding="utf-8").splitlines()
    exit_code = int(lines[0].removeprefix("# exit:").strip())
    message = lines[1].removeprefix("# message:").strip()
    return exit_code, message.replace("{dir}", str(case.parent))


# -- reading documents back ---------------------------------------------------------------


MACHINE_READABLE = ("allocation.csv", "transition.csv", "transition_summary.csv")  # English keys


class HtmlReader(HTMLParser):
    """An HTML page read back: its tables (rows of cell text; a cell that spans columns, such
    as a subtotal's label, followed by empty ones), images (their attributes), paragraphs (the
    text of each ``<p>`` outside tables) and visible text (with the images' alt text)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.images: list[dict] = []
        self.paragraphs: list[str] = []
        self.text: list[str] = []
        self._cell: str | None = None
        self._span = 1
        self._in_p = False
        self._skip = False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self._skip = tag in ("style", "script")
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
            self._span = int(dict(attrs).get("colspan") or 1)
        elif tag == "img":
            self.images.append(dict(attrs))
            self.text.append(dict(attrs).get("alt") or "")
        elif tag == "p":
            self._in_p = True
            self.paragraphs.append("")

    def handle_endtag(self, tag):
        self._skip = False
        if tag in ("td", "th"):
            self.tables[-1][-1] += [self._cell or ""] + [""] * (self._span - 1)
            self._cell = None
        elif tag == "p":
            self._in_p = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        elif self._in_p:
            self.paragraphs[-1] += data
        if not self._skip:
            self.text.append(data)


def document_texts(out: Path) -> dict[str, str]:
    """The words of every document of a folder written by a report (``report.*``, the CSV
    tables but the machine-readable ones, ``method.txt``), by file name."""
    from openpyxl import load_workbook

    book = load_workbook(out / "report.xlsx")
    cells = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)] + book.sheetnames
    md = re.sub(r"\]\([\w.]+\.png\)", "]", (out / "report.md").read_text("utf-8"))
    texts = {"report.docx": docx_text(out / "report.docx"), "report.xlsx": "\n".join(cells),
             "report.html": "\n".join(HtmlReader((out / "report.html").read_text("utf-8")).text),
             "report.md": md, "report.tex": tex_words((out / "report.tex").read_text("utf-8"))}
    for path in out.glob("*.csv"):
        if path.name not in MACHINE_READABLE:
            texts[path.name] = path.read_text("utf-8-sig")
    texts["method.txt"] = (out / "method.txt").read_text("utf-8-sig")
    return texts


def pipe_tables(text: str) -> list[list[list[str]]]:
    """The pipe tables of a Markdown text, as rows of cells (the header first)."""
    tables, current = [], None
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip().replace("\\|", "|")
                     for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if current is None:
                current = []
                tables.append(current)
            if not all(re.fullmatch(r"-+:?", c) for c in cells):
                current.append(cells)
        else:
            current = None
    return tables


def docx_text(path: Path) -> str:
    """Every paragraph of a DOCX file (in tables too), with the cached results of its fields."""
    from docx import Document
    from docx.oxml.ns import qn

    document = Document(path)
    body = document.element.body
    return "\n".join("".join(t.text or "" for t in p.iter(qn("w:t")))
                     for p in body.iter(qn("w:p")))


def tex_words(text: str) -> str:
    """The words of a LaTeX document: comments, commands, their options and the arguments that
    are names (environments, labels, files, column specifications) taken out."""
    text = "\n".join(line for line in text.splitlines()
                     if not line.startswith(("%", r"\begin{longtable}", r"\includegraphics")))
    text = text.replace(r"\_", "_").replace("[htbp]", " ")
    text = re.sub(r"\\(begin|end|label|includegraphics|documentclass|usepackage|captionsetup|"
                  r"setlength|renewcommand|multicolumn)(\[[^\]]*\])?\{[^}]*\}(\{[^}]*\})*", " ", text)
    text = re.sub(r"\\makecell\[\w+\]", " ", text)
    text = re.sub(r"\\[A-Za-z]+", " ", text)
    return text
