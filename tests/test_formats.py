"""Every export format, opened with its own reader: same numbers, totals add up, right language,
the illustrative-data note everywhere, no formulas from text cells."""

from __future__ import annotations

import csv
import io
import re
import warnings

import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook

from allocator import allocate
from allocator.errors import InputError
from allocator.report import ReportOptions, write_report
from allocator.report.charts import FontFallbackWarning
from allocator.report.formats.latex import tex_escape

from .support import HARBIN, ROOT, HtmlReader, pipe_tables, run_cli

HEADERS = {"zh": ("代码", "单位", "优化配置数", "现有编制数", "零基测算数", "增减数", "增减比例"),
           "en": ("Code", "Unit", "Allocation", "Current posts", "Zero-based target", "Change",
                  "Change %")}


@pytest.fixture(scope="module")
def result():
    return allocate(HARBIN)


@pytest.fixture(scope="module")
def written(harbin_report):
    return harbin_report


def _note(result, lang: str) -> str:
    """The model's note on current posts in ``lang``."""
    return getattr(result.spec.actual_note, lang)


def _flat(header: list[str], lang: str) -> list[str]:
    """Headers as one line (XLSX, DOCX and LaTeX break long headers between words)."""
    return [h.replace("\n", "" if lang == "zh" else " ") for h in header]


def _number(text) -> float:
    return float(str(text).replace(",", "").replace("%", ""))


def _posts(result) -> dict[str, int]:
    return dict(zip(result.table.ids, result.posts.tolist(), strict=True))


def _check_rows(header: list[str], rows: list[list[str]], lang: str, result) -> None:
    """Rows of the comparison table as text: allocation per unit, and the totals add up."""
    h = HEADERS[lang]
    header = _flat(header, lang)
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
    for name in ("comparison.csv", "summary.csv", "explanation.csv", "inputs.csv", "method.txt",
                 "report.xlsx", "report.docx", "report.md", "report.tex", "report.html",
                 "allocation.png", "allocation.svg", "per10k.png", "per10k.svg",
                 "waterfall_230108.png", "waterfall_230108.svg", "allocation.csv", "run.json"):
        assert name in names


def test_csv_has_a_bom_the_numbers_and_the_note(written, result):
    lang, out, _ = written
    raw = (out / "comparison.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, body = [h.removesuffix("（%）") for h in rows[0]], rows[1:]
    pct = {"zh": "增减比例（%）", "en": "Change %"}[lang]  # "%" once, never "Change % (%)"
    assert pct in rows[0] and not [h for h in rows[0] if h.count("%") > 1]
    table_rows = body[:body.index([])]
    _check_rows(header, table_rows, lang, result)
    assert any(_note(result, lang) in cell for row in body for cell in row)


def test_xlsx_is_formatted_and_holds_the_numbers(written, result):
    lang, out, output = written
    book = load_workbook(out / "report.xlsx")
    assert len(book.sheetnames) == 5  # four tables and the method statement
    sheet = book.worksheets[0]
    header = _flat([c.value for c in sheet[2]], lang)
    assert sheet.freeze_panes == "C3"  # the header rows and the code and unit columns
    assert sheet["A2"].font.bold and sheet["A2"].fill.fgColor.rgb.endswith("305496")
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    n = len(output.report.table("comparison").rows)
    table_rows = values[:n]
    _check_rows(header, [[("" if v is None else str(v)) for v in r] for r in table_rows],
                lang, result)
    alloc = header.index(HEADERS[lang][2])
    pct = header.index(HEADERS[lang][6])
    assert sheet.cell(row=3, column=alloc + 1).number_format == "#,##0"
    assert sheet.cell(row=3, column=pct + 1).number_format == "0.0%"
    comparison = output.report.table("comparison")
    for i in range(n):  # percentages are real fractions equal to the table's rounded values
        expected = comparison.value(i, comparison.index("change_pct"))
        assert table_rows[i][pct] * 100 == pytest.approx(expected, abs=1e-9)
    assert sheet.column_dimensions["B"].width >= 8
    assert sheet.row_dimensions[2].height >= 30  # long headers wrap onto a taller row
    for ws in book.worksheets:
        texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
        assert any(_note(result, lang) in t for t in texts), ws.title
    inputs = book.worksheets[3]
    assert result.table.sha256 in [c.value for row in inputs.iter_rows() for c in row]


def test_docx_has_three_line_tables_captions_and_notes(written, result):
    lang, out, output = written
    document = Document(out / "report.docx")
    assert len(document.tables) == 4
    grid = document.tables[0]
    rows = [[cell.text for cell in row.cells] for row in grid.rows]
    _check_rows(rows[0], rows[1:], lang, result)
    assert grid.rows[0].cells[0]._tc.xml.count("<w:br/>") == 0
    xml = grid._tbl.xml
    assert re.search(r'<w:top w:val="single" w:sz="12"', xml)
    assert re.search(r'<w:bottom w:val="single" w:sz="12"', xml)
    assert re.search(r'<w:insideV w:val="nil"', xml)
    assert 'w:bottom w:val="single" w:sz="6"' in grid.rows[0].cells[0]._tc.xml
    subtotal = next(row for row in grid.rows if row.cells[0].text.endswith(("小计", "subtotal")))
    assert '<w:gridSpan w:val="3"/>' in subtotal.cells[0]._tc.xml  # over unit and group
    body = document.element.body.xml
    assert body.count("SEQ 表" if lang == "zh" else "SEQ Table") == 4
    assert body.count("SEQ 图" if lang == "zh" else "SEQ Figure") == 3  # three charts
    # the caption number is a SEQ field whose cached result python-docx's .text leaves out
    captions = ["".join(t.text or "" for t in p._p.iter(qn("w:t")))
                for p in document.paragraphs if p.style.name == "Caption"]
    first = "表1 各单位编制配置对比" if lang == "zh" else "Table 1. Allocation compared"
    assert captions[0].startswith(first)
    figures = [c for c in captions if c.startswith(("图", "Figure"))]
    assert [c.split()[0].rstrip(".") for c in figures] == (
        ["图1", "图2", "图3"] if lang == "zh" else ["Figure", "Figure", "Figure"])
    assert len(document.inline_shapes) == 3
    notes = [p.text for p in document.paragraphs if _note(result, lang) in p.text]
    assert len(notes) == 5  # under the method statement and under every table
    prefix = "注：" if lang == "zh" else "Note: "
    assert all(n.startswith(prefix) for n in notes)


def test_html_is_self_contained_with_tables_charts_and_notes(written, result):
    lang, out, _ = written
    text = (out / "report.html").read_text(encoding="utf-8")
    parser = HtmlReader(text)
    assert len(parser.tables) == 4
    rows = parser.tables[0]
    _check_rows(rows[0], rows[1:], lang, result)
    assert re.search(r'<td colspan="3"[^>]*>(市辖区小计|Districts subtotal)</td>', text)
    assert len(parser.images) == 3 and all(i["src"].startswith("data:image/png;base64,")
                                           for i in parser.images)
    assert "http" not in text.replace("http-equiv", "")  # nothing fetched from elsewhere
    figure = ("图1 各单位优化配置数与现有编制数" if lang == "zh"
              else "Figure 1. Allocation and current posts, by unit")
    assert f"<figcaption>{figure}</figcaption>" in text
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", text)
    assert len(captions) == len(set(captions)) == 3
    assert sum(_note(result, lang) in p for p in parser.paragraphs) == 5


def test_markdown_tables_parse_and_add_up(written, result):
    lang, out, _ = written
    text = (out / "report.md").read_text(encoding="utf-8")
    tables = pipe_tables(text)
    assert len(tables) == 4
    assert all(len(set(map(len, t))) == 1 for t in tables)  # every row has every column
    _check_rows(tables[0][0], tables[0][1:], lang, result)
    assert text.count(_note(result, lang)) == 5
    images = re.findall(r"!\[(.*?)\]\((.*?)\)", text)
    assert [name for _, name in images] == ["allocation.png", "per10k.png", "waterfall_230108.png"]
    assert all((out / name).is_file() for _, name in images)
    assert images[0][0].startswith("图1 " if lang == "zh" else "Figure 1. ")


def _spanned(cells: list[str]) -> list[str]:
    """LaTeX cells with a ``\\multicolumn{n}`` cell as that cell and n - 1 empty ones."""
    out = []
    for cell in cells:
        found = re.fullmatch(r"\s*\\multicolumn\{(\d+)\}\{\w\}\{(.*)\}\s*", cell)
        out += [found[2]] + [""] * (int(found[1]) - 1) if found else [cell]
    return out


def test_latex_uses_booktabs_and_balanced_rows(written, result):
    lang, out, _ = written
    text = (out / "report.tex").read_text(encoding="utf-8")
    assert text.count(r"\begin{longtable}") == text.count(r"\end{longtable}") == 4
    assert text.count(r"\toprule") == text.count(r"\bottomrule") == 8  # first page, then others
    assert text.count(r"\endhead") == 4  # the header repeats on every page
    assert r"\resizebox" not in text  # never shrunk
    assert text.count(r"\begin{landscape}") == 2  # the two wide tables
    assert re.findall(r"\\includegraphics\[[^\]]*\]\{(.*?)\}", text) == [
        "allocation.png", "per10k.png", "waterfall_230108.png"]
    subtotal = "市辖区小计" if lang == "zh" else "Districts subtotal"
    # a subtotal's label runs on over the empty unit and group cells
    assert rf"\multicolumn{{3}}{{l}}{{\textbf{{{subtotal}}}}}" in text
    depth = 0
    for ch in re.sub(r"\\[{}%&_#$]", "", text):  # braces balance outside escapes
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    # A Chinese report needs ctexart; the English one has English unit names: plain article
    assert ("{ctexart}" in text) == (lang == "zh")
    blocks = re.findall(r"\\begin\{longtable\}\{(.*?)\}\n(.*?)\\end\{longtable\}", text, re.S)
    assert len(blocks) == 4
    spec, body = blocks[0]
    lines = [ln.removesuffix("*") for ln in body.split(r"\endlastfoot")[1].splitlines()
             if ln.endswith((r"\\", r"\\*"))]  # \\* keeps a short table on one page
    head = re.split(r"(?<!\\)&", body.split("\n")[2][:-3])
    header = [re.sub(r"\\makecell\[\w+\]\{(.*)\}", r"\1", h.strip()).replace("\\\\", "\n")
              .replace(r"\%", "%") for h in head]
    rows = [[re.sub(r"\\textbf\{(.*)\}", r"\1", c.strip()).replace(r"\%", "%").replace("$-$", "-")
             for c in _spanned(re.split(r"(?<!\\)&", ln[:-2]))]
            for ln in lines]
    columns = re.findall(r">\{[^}]*\}p\{[^}]*\}|r", spec)  # r, or >{\raggedright...}p{..}
    assert all(len(r) == len(columns) == len(header) for r in rows)
    _check_rows(header, rows, lang, result)
    assert text.count(tex_escape(_note(result, lang))) == 5
    assert tex_escape("a_b & 50% #1") == r"a\_b \& 50\% \#1"


def test_text_cells_never_become_formulas(tmp_path):
    data = (ROOT / "data" / "harbin_2020.csv").read_text(encoding="utf-8")
    data = data.replace("Daoli", "=HYPERLINK(\"http://x\")").replace("Nangang", "@SUM(A1)")
    data = data.replace("Daowai", "-2+3").replace("Pingfang", "+1")
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
    assert "'=HYPERLINK(\"http://x\")" in [r[1] for r in rows if len(r) > 1]
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
    text = (out / "report.md").read_text("utf-8")
    assert "weights: Area (km²) 0.5" in text and "{'" not in text  # the override, in words
    bad = run_cli("report", str(HARBIN), "--out", str(tmp_path / "x"), "--format", "pdf")
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
    md = pipe_tables((tmp_path / "out" / "report.md").read_text("utf-8"))
    header, *rows = md[0]
    alloc = header.index("Allocation")
    assert sum(int(r[alloc]) for r in rows[:-1]) == int(rows[-1][alloc]) == 100
    assert (tmp_path / "out" / "waterfall_U10.svg").is_file()
    assert r"\documentclass[a4paper,11pt]{article}" in (tmp_path / "out" / "report.tex").read_text("utf-8")
