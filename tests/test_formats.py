"""Every export format, opened with its own reader: same numbers, totals add up, right language,
the illustrative-data note everywhere, no formulas from text cells."""

from __future__ import annotations

import csv
import io
import re
import warnings
from html.parser import HTMLParser

import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook

from allocator import allocate
from allocator.errors import InputError
from allocator.report import ReportOptions, write_report
from allocator.report.charts import FontFallbackWarning
from allocator.report.formats.latex import tex_escape

from .support import HARBIN, ROOT, run_cli

HEADERS = {"zh": ("代码", "单位", "优化配置数", "现有编制数", "零基测算数", "增减数", "增减比例"),
           "en": ("Code", "Unit", "Allocation", "Current posts", "Zero-based target", "Change",
                  "Change %")}


@pytest.fixture(scope="module")
def result():
    return allocate(HARBIN)


@pytest.fixture(scope="module", params=["zh", "en"])
def written(request, result, tmp_path_factory):
    lang = request.param
    out = tmp_path_factory.mktemp(f"report_{lang}") / "report"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FontFallbackWarning)
        output = write_report(result, out, ReportOptions(lang=lang, explain="230108"))
    return lang, out, output


def _number(text) -> float:
    return float(str(text).replace(",", "").replace("%", ""))


def _posts(result) -> dict[str, int]:
    return dict(zip(result.table.ids, result.posts.tolist(), strict=True))


def _check_rows(header: list[str], rows: list[list[str]], lang: str, result) -> None:
    """Rows of the comparison table as text: allocation per unit, and the totals add up."""
    h = HEADERS[lang]
    for name in h:
        assert name in header, name
    code, alloc, actual = header.index(h[0]), header.index(h[2]), header.index(h[3])
    units = {r[code]: r for r in rows if r[code] in result.table.ids}
    assert {k: int(_number(r[alloc])) for k, r in units.items()} == _posts(result)
    total = rows[-1]
    assert total[code] == ("合计" if lang == "zh" else "Total")
    assert _number(total[alloc]) == sum(_posts(result).values()) == result.spec.allocatable_cap
    assert _number(total[actual]) == sum(_number(r[actual]) for r in units.values())


def test_every_file_is_written(written):
    _, out, output = written
    names = {p.name for p in out.iterdir()} - {".allocator-manifest.json"}
    assert set(output.files) == names
    for name in ("comparison.csv", "summary.csv", "explanation.csv", "inputs.csv",
                 "report.xlsx", "report.docx", "report.md", "report.tex", "report.html",
                 "allocation.png", "allocation.svg", "per10k.png", "per10k.svg",
                 "waterfall_230108.png", "waterfall_230108.svg", "allocation.csv", "run.json"):
        assert name in names


def test_csv_has_a_bom_the_numbers_and_the_note(written, result):
    lang, out, _ = written
    raw = (out / "comparison.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, body = [h.removesuffix(" (%)") for h in rows[0]], rows[1:]
    assert rows[0][header.index(HEADERS[lang][6])].endswith(" (%)")
    table_rows = body[:body.index([])]
    _check_rows(header, table_rows, lang, result)
    assert any(result.spec.actual_note in cell for row in body for cell in row)


def test_xlsx_is_formatted_and_holds_the_numbers(written, result):
    lang, out, output = written
    book = load_workbook(out / "report.xlsx")
    assert len(book.sheetnames) == 4
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold and sheet["A1"].fill.fgColor.rgb.endswith("305496")
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    n = len(output.report.table("comparison").rows)
    table_rows = values[:n]
    _check_rows(header, [[("" if v is None else str(v)) for v in r] for r in table_rows],
                lang, result)
    alloc = header.index(HEADERS[lang][2])
    pct = header.index(HEADERS[lang][6])
    assert sheet.cell(row=2, column=alloc + 1).number_format == "#,##0"
    assert sheet.cell(row=2, column=pct + 1).number_format == "0.0%"
    comparison = output.report.table("comparison")
    for i in range(n):  # percentages are real fractions equal to the table's rounded values
        expected = comparison.value(i, comparison.index("change_pct"))
        assert table_rows[i][pct] * 100 == pytest.approx(expected, abs=1e-9)
    assert sheet.column_dimensions["B"].width >= 8
    assert sheet.row_dimensions[1].height >= 30  # long headers wrap onto a taller row
    for ws in book.worksheets:
        texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
        assert any(result.spec.actual_note in t for t in texts), ws.title
    inputs = book.worksheets[3]
    assert result.table.sha256 in [c.value for row in inputs.iter_rows() for c in row]


def test_docx_has_three_line_tables_captions_and_notes(written, result):
    lang, out, output = written
    document = Document(out / "report.docx")
    assert len(document.tables) == 4
    grid = document.tables[0]
    rows = [[cell.text for cell in row.cells] for row in grid.rows]
    _check_rows(rows[0], rows[1:], lang, result)
    xml = grid._tbl.xml
    assert re.search(r'<w:top w:val="single" w:sz="12"', xml)
    assert re.search(r'<w:bottom w:val="single" w:sz="12"', xml)
    assert re.search(r'<w:insideV w:val="nil"', xml)
    assert 'w:bottom w:val="single" w:sz="6"' in grid.rows[0].cells[0]._tc.xml
    body = document.element.body.xml
    assert body.count("SEQ ") == 4
    # the caption number is a SEQ field whose cached result python-docx's .text leaves out
    captions = ["".join(t.text or "" for t in p._p.iter(qn("w:t")))
                for p in document.paragraphs if p.style.name == "Caption"]
    first = "表1 各单位编制配置对比" if lang == "zh" else "Table 1. Allocation compared"
    assert captions[0].startswith(first)
    notes = [p.text for p in document.paragraphs if result.spec.actual_note in p.text]
    assert len(notes) == 4  # under every table
    prefix = "注：" if lang == "zh" else "Note: "
    assert all(n.startswith(prefix) for n in notes)


class _Tables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.cell, self.images, self.paragraphs = [], None, [], []
        self.in_p = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = ""
        elif tag == "img":
            self.images.append(dict(attrs))
        elif tag == "p":
            self.in_p, self.paragraphs = True, self.paragraphs + [""]

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self.cell)
            self.cell = None
        elif tag == "p":
            self.in_p = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        elif self.in_p:
            self.paragraphs[-1] += data


def test_html_is_self_contained_with_tables_charts_and_notes(written, result):
    lang, out, _ = written
    text = (out / "report.html").read_text(encoding="utf-8")
    parser = _Tables()
    parser.feed(text)
    assert len(parser.tables) == 4
    rows = parser.tables[0]
    _check_rows(rows[0], rows[1:], lang, result)
    assert len(parser.images) == 3 and all(i["src"].startswith("data:image/png;base64,")
                                           for i in parser.images)
    assert "http" not in text.replace("http-equiv", "")  # nothing fetched from elsewhere
    figure = "优化配置数与现有编制数" if lang == "zh" else "Allocation and current posts, by unit"
    assert f"<figcaption>{figure}</figcaption>" in text
    assert sum(result.spec.actual_note in p for p in parser.paragraphs) == 5


def _pipe_tables(text: str) -> list[list[list[str]]]:
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


def test_markdown_tables_parse_and_add_up(written, result):
    lang, out, _ = written
    text = (out / "report.md").read_text(encoding="utf-8")
    tables = _pipe_tables(text)
    assert len(tables) == 4
    assert all(len(set(map(len, t))) == 1 for t in tables)  # every row has every column
    _check_rows(tables[0][0], tables[0][1:], lang, result)
    assert text.count(result.spec.actual_note) == 5


def test_latex_uses_booktabs_and_balanced_rows(written, result):
    lang, out, _ = written
    text = (out / "report.tex").read_text(encoding="utf-8")
    assert text.count(r"\toprule") == text.count(r"\bottomrule") == 4
    depth = 0
    for ch in re.sub(r"\\[{}%&_#$]", "", text):  # braces balance outside escapes
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    assert text.count(r"\begin{table}") == text.count(r"\end{table}") == 4
    # Chinese unit names need ctexart's fonts in both languages; English keeps plain headings
    assert ("scheme=plain" in text) == (lang == "en") and "{ctexart}" in text
    blocks = re.findall(r"\\begin\{tabular\}\{(.*?)\}\n(.*?)\\end\{tabular\}", text, re.S)
    assert len(blocks) == 4
    spec, body = blocks[0]
    lines = [ln for ln in body.splitlines() if ln.endswith(r"\\")]
    rows = [[c.strip().replace(r"\%", "%").replace("$-$", "-")
             for c in re.split(r"(?<!\\)&", ln[:-2])]
            for ln in lines]
    assert all(len(r) == len(spec) for r in rows)
    _check_rows(rows[0], rows[1:], lang, result)
    assert text.count(tex_escape(result.spec.actual_note)) == 5
    assert tex_escape("a_b & 50% #1") == r"a\_b \& 50\% \#1"


def test_text_cells_never_become_formulas(tmp_path):
    data = (ROOT / "data" / "harbin_2020.csv").read_text(encoding="utf-8")
    data = data.replace("道里区", "=HYPERLINK(\"http://x\")").replace("南岗区", "@SUM(A1)")
    data = data.replace("道外区", "-2+3").replace("平房区", "+1")
    (tmp_path / "units.csv").write_text(data, encoding="utf-8")
    model = HARBIN.read_text(encoding="utf-8").replace('"../data/harbin_2020.csv"', '"units.csv"')
    (tmp_path / "m.toml").write_text(model, encoding="utf-8")
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FontFallbackWarning)
        write_report(tmp_path / "m.toml", out, ReportOptions(formats=("csv", "xlsx"), lang="en"))
    book = load_workbook(out / "report.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    labels = {c.value for c in cells if isinstance(c.value, str)}
    assert {"'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "'-2+3", "'+1"} <= labels
    rows = list(csv.reader(io.StringIO((out / "comparison.csv").read_text("utf-8-sig"))))
    assert not [c for r in rows for c in r if c and c[0] in "=+-@" and not _is_number(c)]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_bad_options_write_nothing(tmp_path, result):
    out = tmp_path / "out"
    with pytest.raises(InputError, match="no unit with id or name '平方区'.*did you mean '平房区'"):
        write_report(result, out, ReportOptions(explain="平方区"))
    with pytest.raises(InputError, match="language 'fr'"):
        write_report(result, out, ReportOptions(lang="fr"))
    assert not out.exists()


def test_cli_report_command(tmp_path):
    help_text = run_cli("report", "--help").output
    assert "Example: allocator report" in help_text
    out = tmp_path / "r"
    ok = run_cli("report", str(HARBIN), "--out", str(out), "--format", "md",
                             "--lang", "en", "--explain", "平房区", "-w", "area=0.5")
    assert ok.exit_code == 0, ok.output
    assert (out / "report.md").is_file() and not (out / "report.xlsx").exists()
    assert "Scaling to the cap" in ok.output and "illustrative" in ok.output
    assert "Units down" in ok.output  # the summary is printed
    weights = [line for line in (out / "report.md").read_text("utf-8").splitlines()
               if "Weight: Area" in line]
    assert weights and "0.5000" in weights[0]  # a weight given is the indicator's final share
    assert "weights area=0.5" in (out / "report.md").read_text("utf-8")  # the override is recorded
    bad = run_cli("report", str(HARBIN), "--out", str(tmp_path / "x"),
                              "--format", "pdf")
    assert bad.exit_code == 2
    assert "Traceback" not in bad.output and "--format pdf" in bad.output
    assert not (tmp_path / "x").exists()


def test_a_bare_model_without_labels_groups_actual_or_population(tmp_path):
    (tmp_path / "u.csv").write_text("code,pop,area\nU2,100,5\nU10,300,1\nU1,50,9\n",
                                    encoding="utf-8")
    (tmp_path / "m.toml").write_text(
        'name = "bare"\ndata = "u.csv"\nid = "code"\ncap = 100\n'
        '[indicators.pop]\ncolumn = "pop"\nweight = 2\n'
        '[indicators.area]\ncolumn = "area"\nweight = 1\n'
        '[bounds]\nfloor = 20\n', encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FontFallbackWarning)
        output = write_report(tmp_path / "m.toml", tmp_path / "out",
                              ReportOptions(lang="en", explain="U10"))
    comparison = output.report.table("comparison")
    keys = [c.key for c in comparison.columns]
    assert "actual" not in keys and "per10k_after" not in keys and "label" not in keys
    assert comparison.column_values("id") == ["U1", "U2", "U10"]  # natural id order
    md = _pipe_tables((tmp_path / "out" / "report.md").read_text("utf-8"))
    header, *rows = md[0]
    alloc = header.index("Allocation")
    assert sum(int(r[alloc]) for r in rows[:-1]) == int(rows[-1][alloc]) == 100
    assert (tmp_path / "out" / "waterfall_U10.svg").is_file()
    assert r"\documentclass[a4paper]{article}" in (tmp_path / "out" / "report.tex").read_text("utf-8")
