"""Documents ready to paste, checked by reading the files: one language per document, the official
layout of the DOCX, the print setup of the XLSX, numbered figures, a BOM on every CSV, the method
statement everywhere, and the duplicated names of a national model told apart."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import warnings

import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook

from allocator import allocate
from allocator.audit import verify
from allocator.errors import InputError
from allocator.report import ReportOptions, write_report
from allocator.report.build import build_report
from allocator.report.charts import FontFallbackWarning, chart_text
from allocator.report.formats.common import document_rows, shown_columns
from allocator.report.formats.word import CELL_PAD_CM, header_cm
from allocator.report.labels import has_cjk

from .support import CHINA, HARBIN, ROOT, document_texts, docx_text, run_cli

DAY = datetime.date(2025, 1, 15)
# Words a Chinese document may hold: proper names of methods and software, and file names.
PROPER_NAMES = ("Hamilton", "HiGHS", "SHA-256", "allocator")
RAW_KEYS = ("population_2020", "urban_population", "posts_illustrative", "area_km2", "linear",
            "sqrt", "hamilton", "highs", "{'", "Harbin", "district", "county", "actual_note")


@pytest.fixture(scope="module")
def harbin():
    return allocate(HARBIN)


@pytest.fixture(scope="module")
def folder(harbin_report):
    lang, out, _ = harbin_report
    return lang, out


@pytest.mark.parametrize("harbin_report", ["zh"], indirect=True)
def test_a_chinese_document_holds_no_english_sentence_and_no_raw_key(folder, harbin):
    _, out = folder
    paths = [str(harbin.table.path), str(harbin.spec.source)]
    for name, text in document_texts(out).items():
        for key in RAW_KEYS:
            assert key not in text, (name, key)
        text = re.sub(r"[0-9a-f]{64}", " ", text)  # SHA-256 of the model and data files
        for allowed in paths:
            text = text.replace(allowed, " ")
        for allowed in PROPER_NAMES:
            text = text.replace(allowed, " ")
        words = re.findall(r"[A-Za-z]{2,}", text)
        assert not words, (name, sorted(set(words))[:10])


@pytest.mark.parametrize("harbin_report", ["en"], indirect=True)
def test_an_english_document_holds_no_chinese_where_english_names_exist(folder):
    _, out = folder
    for name, text in document_texts(out).items():
        chinese = [line for line in text.splitlines() if has_cjk(line)]
        assert not chinese, (name, chinese[:3])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_constraints_model_speaks_one_language_with_its_rules_in_words(lang, tmp_path):
    """Named constraints, equal-cut rules, density standards and group bounds are named in the
    document's language (a named constraint by its label), never by a model-file key."""
    from allocator.report.write import ReportOptions, write_report

    model = ROOT / "models" / "harbin_2020_constraints.toml"
    out = write_report(model, tmp_path / lang, ReportOptions(
        formats=("csv", "xlsx", "docx", "md", "tex", "html"), lang=lang, date=DAY)).out_dir
    texts = document_texts(out)
    for name, text in texts.items():
        raw = ("equal_cut", "min_per_10k", "group_max", "max_cut")
        for key in (*RAW_KEYS, *raw) if lang == "zh" else raw:
            assert key not in text, (name, key)
        assert not re.search(r"constraint:\S", text), name  # the key, not "Named constraint: X"
        if lang == "en":
            chinese = [line for line in text.splitlines() if has_cjk(line)]
            assert not chinese, (name, chinese[:3])
        else:
            text = re.sub(r"[0-9a-f]{64}", " ", text).replace(str(model), " ")
            text = text.replace(str(ROOT / "data" / "harbin_2020.csv"), " ")
            for allowed in PROPER_NAMES:
                text = text.replace(allowed, " ")
            assert not re.findall(r"[A-Za-z]{2,}", text), name
    label = "专项约束：核心城区保障基本服务" if lang == "zh" else \
        "Named constraint: Core districts keep their service base"
    assert label in texts["comparison.csv"] and label in texts["report.md"]
    assert ("核心城区保障基本服务" if lang == "zh" else "Core districts keep their service base") \
        in texts["method.txt"]


def test_every_csv_starts_with_a_bom(folder, tmp_path):
    _, out = folder
    names = sorted(p.name for p in out.glob("*.csv"))
    assert "allocation.csv" in names and "comparison.csv" in names
    for name in names:
        assert (out / name).read_bytes().startswith(b"\xef\xbb\xbf"), name
    assert run_cli("run", HARBIN, "-q", "--out", tmp_path / "run").exit_code == 0
    assert (tmp_path / "run" / "allocation.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert run_cli("weights", HARBIN, "--method", "equal", "--out", tmp_path / "w").exit_code == 0
    assert (tmp_path / "w" / "weights.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert run_cli("verify", tmp_path / "run").exit_code == 0  # verify reads it back


def test_the_method_statement_is_in_every_document(folder):
    lang, out = folder
    rounding = "最大余数法（Hamilton）" if lang == "zh" else "largest remainder (Hamilton)"
    heading = "测算说明" if lang == "zh" else "Method"
    day = "2025年1月15日" if lang == "zh" else "15 January 2025"
    texts = document_texts(out)
    for name in ("report.docx", "report.xlsx", "report.html", "report.md", "report.tex",
                 "method.txt"):
        assert heading in texts[name] and rounding in texts[name] and day in texts[name], name
    weights = "常住人口（人）45%" if lang == "zh" else "resident population 45%"
    assert weights in texts["method.txt"]


def test_xlsx_prints_on_a4_with_titles_headers_and_one_format_per_column(folder):
    lang, out = folder
    book = load_workbook(out / "report.xlsx")
    for number, sheet in enumerate(book.worksheets[:4], start=1):
        setup = sheet.page_setup
        assert setup.paperSize == 9  # A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0)  # one page wide, as long as needed
        assert sheet.print_title_rows == "$2:$2"  # the header row on every printed page
        assert str(sheet["A1"].value).startswith(f"表{number} " if lang == "zh"
                                                  else f"Table {number}. ")
    comparison = book.worksheets[0]
    assert comparison.page_setup.orientation == "landscape"
    assert comparison.freeze_panes == "C3"
    for column in comparison.iter_cols(min_row=3, max_row=comparison.max_row):
        formats = {c.number_format for c in column if isinstance(c.value, int | float)}
        assert len(formats) <= 1, (column[0].column_letter, formats)
    assert book.sheetnames[4] == ("测算说明" if lang == "zh" else "Method")
    notes = [c for c in comparison["A"] if str(c.value).startswith(("注：", "Note: "))]
    merged = {str(r) for r in comparison.merged_cells.ranges}
    last = comparison.cell(row=2, column=comparison.max_column).column_letter
    assert notes and all(c.alignment.wrap_text for c in notes)  # within the table's width
    assert all(f"A{c.row}:{last}{c.row}" in merged for c in notes)


def _sections_are_a4(document) -> None:
    for section in document.sections:
        size = sorted((round(section.page_width.cm, 1), round(section.page_height.cm, 1)))
        assert size == [21.0, 29.7]


def test_docx_is_laid_out_as_an_official_document(folder, harbin):
    lang, out = folder
    document = Document(out / "report.docx")
    _sections_are_a4(document)
    assert {round(s.page_width.cm, 1) for s in document.sections} == {21.0, 29.7}  # both ways
    normal = document.styles["Normal"].element.rPr.rFonts
    if lang == "zh":
        assert normal.get(qn("w:eastAsia")) == "仿宋"
        title = document.paragraphs[0]
        assert title.alignment == 1 and title.text == "哈尔滨市2020年区县事业编制零基测算"
        assert title.runs[0].element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
        assert title.style.name == "Normal"  # not Word's blue "Title" style
    for grid in document.tables:
        rows = grid.rows
        assert rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # repeats on every page
        assert all(r._tr.trPr.find(qn("w:cantSplit")) is not None for r in rows)
        for row in rows[1:]:
            for cell in row.cells[1:]:  # codes are text
                text = cell.text.replace(",", "").replace("%", "")
                if re.fullmatch(r"-?\d+(\.\d+)?", text):
                    assert cell.paragraphs[0].alignment == 2, text  # numbers right-aligned
    assert "SEQ 图" in document.element.body.xml or "SEQ Figure" in document.element.body.xml


def test_docx_headers_break_between_words_only(folder, harbin):
    lang, out = folder
    report = build_report(harbin, date=DAY)
    document = Document(out / "report.docx")
    for table, grid in zip(report.tables, document.tables, strict=True):
        columns = shown_columns(table, document_rows(table), lang)
        points = grid.rows[0].cells[0].paragraphs[0].runs[0].font.size.pt
        for j, cell in zip(columns, grid.rows[0].cells, strict=True):
            pieces = [p.replace(" ", "") for p in table.columns[j].header_parts(lang)]
            for line in cell.text.split("\n"):  # each line is whole pieces, and fits the column
                rest = line.replace(" ", "")
                while rest:
                    assert rest.startswith(pieces[0]), (line, pieces)
                    rest = rest[len(pieces.pop(0)):]
                needed = header_cm(line, lang, points) + CELL_PAD_CM
                assert needed <= cell.width.cm + 0.01, (line, cell.width.cm)
            assert not pieces  # the whole header is there


def test_figures_are_numbered_in_every_document(folder):
    lang, out = folder
    label = "图" if lang == "zh" else "Figure "
    sep = " " if lang == "zh" else ". "
    expected = [f"{label}{n}{sep}" for n in (1, 2, 3)]
    html = (out / "report.html").read_text("utf-8")
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", html)
    assert [c[:len(e)] for c, e in zip(captions, expected, strict=True)] == expected
    assert len(set(captions)) == 3
    md = (out / "report.md").read_text("utf-8")
    alts = re.findall(r"!\[(.*?)\]\((.*?)\)", md)
    assert [a[:len(e)] for (a, _), e in zip(alts, expected, strict=True)] == expected
    tex = (out / "report.tex").read_text("utf-8")
    assert tex.count(r"\begin{figure}") == 3 and tex.count(r"\includegraphics") == 3
    assert ("labelsep=quad" if lang == "zh" else "labelsep=period") in tex
    assert "Noto Sans CJK SC" in html and "Microsoft YaHei" in html and "PingFang SC" in html


@pytest.fixture(scope="module")
def china(tmp_path_factory):
    result = allocate(CHINA)
    out = tmp_path_factory.mktemp("china") / "report"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FontFallbackWarning)
        output = write_report(result, out, ReportOptions(formats=("docx",), lang="zh", date=DAY))
    return output


def test_a_national_model_tells_apart_units_of_the_same_name(china):
    names = china.report.unit_names
    chaoyang = sorted(n.zh for n in names.values() if n.zh.startswith("朝阳区"))
    assert chaoyang == ["朝阳区（北京市）", "朝阳区（长春市）"]
    gulou = [n.zh for n in names.values() if n.zh.startswith("鼓楼区")]
    assert len(gulou) == len(set(gulou)) > 1 and "鼓楼区（南京市）" in gulou
    assert len({n.zh for n in names.values()}) == len(names)
    assert len({n.en for n in names.values()}) == len(names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FontFallbackWarning)
        labels = chart_text(china.report, "zh").names
    assert len(set(labels.values())) == len(labels)


def test_a_national_docx_keeps_subtotals_and_drops_empty_columns(china):
    document = Document(china.out_dir / "report.docx")
    header = [c.text.replace("\n", "") for c in document.tables[0].rows[0].cells]
    assert "单位" not in header and "约束条件" not in header  # empty in every subtotal row
    assert header[0] == "分组" and "优化配置数" in header  # the column holds group names
    assert len(document.tables[0].rows) == 1 + 31 + 1  # header, provinces, total
    english = [c.text for c in document.tables[0].columns[0].cells if c.text.isascii()]
    assert english == []  # province names in Chinese in a Chinese document
    text = docx_text(china.out_dir / "report.docx")
    assert "约束条件：配置数受该约束" not in text  # no note on a column that is not shown
    assert "表1 各单位编制配置\n" in text  # no current posts: nothing "compared"
    assert "此处仅列小计与合计" in text
    _sections_are_a4(document)


def test_csv_headers_say_percent_once(folder):
    lang, out = folder
    header = next(csv.reader(io.StringIO((out / "comparison.csv").read_text("utf-8-sig"))))
    assert not [h for h in header if h.count("%") > 1]


def test_defaults_never_show_a_raw_key_in_a_chinese_document(tmp_path):
    (tmp_path / "u.csv").write_text("id,beds,km2,posts\nA,10,5,30\nB,30,2,40\nC,20,9,30\n",
                                    encoding="utf-8")
    (tmp_path / "m.toml").write_text(
        'name = "Hospital model"\ndata = "u.csv"\nid = "id"\nactual = "posts"\n'
        'actual_note = "Made-up posts."\ncap = 100\n'
        '[indicators.hospital_beds]\ncolumn = "beds"\nweight = 1\n'
        '[indicators.area]\ncolumn = "km2"\nweight = 1\nlabel = "土地面积"\n', encoding="utf-8")
    write_report(tmp_path / "m.toml", tmp_path / "zh", ReportOptions(formats=("md",), date=DAY))
    text = (tmp_path / "zh" / "report.md").read_text("utf-8")
    assert text.startswith("# 编制配置测算报告\n")  # an English name is not a Chinese title
    assert "指标1" in text and "土地面积" in text  # the key, or the model's own label
    assert "现有编制数仅作比较之用" in text  # the generic caveat for an English-only note
    for raw in ("hospital_beds", "beds", "Hospital", "Made-up"):
        assert raw not in text.replace("](", " ")
    write_report(tmp_path / "m.toml", tmp_path / "en",
                 ReportOptions(formats=("md",), lang="en", date=DAY))
    text = (tmp_path / "en" / "report.md").read_text("utf-8")
    assert text.startswith("# Hospital model\n") and "Hospital beds" in text
    assert "Made-up posts." in text and "Area (km²)" in text  # a known key for the English


def _figures(out) -> dict[str, int]:
    """How many charts each document of a folder shows, and how many chart files it holds."""
    html = (out / "report.html").read_text("utf-8")
    return {"docx": len(Document(out / "report.docx").inline_shapes),
            "html": len(re.findall(r"<img|<svg|<figure", html)),
            "md": len(re.findall(r"!\[[^\]]*\]\(", (out / "report.md").read_text("utf-8"))),
            "tex": (out / "report.tex").read_text("utf-8").count(r"\includegraphics"),
            "files": len([p for p in out.iterdir() if p.suffix in (".png", ".svg")])}


@pytest.mark.parametrize("command", ["report", "transition"])
def test_no_charts_means_no_chart_anywhere(command, tmp_path):
    """Seen: --no-charts left out the chart files and the Markdown and LaTeX figures, while the
    HTML page and the DOCX still showed the charts."""
    for charts in ("--charts", "--no-charts"):
        out = tmp_path / charts
        result = run_cli(command, HARBIN, "--lang", "en", charts, "--out", out)
        assert result.exit_code == 0, result.output
        shown = _figures(out)
        if charts == "--charts":
            assert shown == {"docx": 2, "html": 4, "md": 2, "tex": 2, "files": 4}, shown
        else:
            assert shown == dict.fromkeys(shown, 0), shown
            assert "Figure" not in docx_text(out / "report.docx")
            recorded = json.loads((out / "run.json").read_text("utf-8"))["report"]
            assert recorded["charts"] is False and "png" not in recorded["formats"]
            assert verify(out).ok


def test_the_library_says_charts_with_one_flag(tmp_path):
    """A document carries its charts without chart files, or none with ``charts=False``; a chart
    format with charts off is refused."""
    with_charts = write_report(HARBIN, tmp_path / "a", ReportOptions(formats=("docx", "md"),
                                                                      lang="en", date=DAY))
    assert len(Document(with_charts.out_dir / "report.docx").inline_shapes) == 2
    assert "allocation.png" in with_charts.files and "allocation.svg" not in with_charts.files
    without = write_report(HARBIN, tmp_path / "b", ReportOptions(
        formats=("docx", "html"), lang="en", date=DAY, charts=False))
    assert without.files == ("report.docx", "report.html", "allocation.csv", "run.json")
    assert not Document(without.out_dir / "report.docx").inline_shapes
    with pytest.raises(InputError, match="format 'png': a chart format, but charts are off"):
        write_report(HARBIN, tmp_path / "c", ReportOptions(formats=("md", "png"), charts=False))
    assert not (tmp_path / "c").exists()


def test_a_chinese_document_names_a_constraint_in_chinese(tmp_path):
    """Seen: the Chinese report of the Harbin constraints model said 专项约束：core districts
    keep their service base. The model's label names it; without one, its place does."""
    model = ROOT / "models" / "harbin_2020_constraints.toml"
    write_report(model, tmp_path / "zh", ReportOptions(formats=("md",), date=DAY, charts=False))
    text = (tmp_path / "zh" / "report.md").read_text("utf-8")
    assert "专项约束：核心城区保障基本服务" in text and "专项约束“核心城区保障基本服务”" in text
    assert "core districts" not in text and "posts_illustrative" not in text
    unlabelled = model.read_text("utf-8").replace("label = { zh = \"核心城区保障基本服务\"", "# ")
    (tmp_path / "m.toml").write_text(unlabelled.replace('"../data/', f'"{ROOT}/data/'), "utf-8")
    write_report(tmp_path / "m.toml", tmp_path / "plain", ReportOptions(
        formats=("md",), date=DAY, charts=False))
    text = (tmp_path / "plain" / "report.md").read_text("utf-8")
    assert "| 专项约束1 |" in text and "专项约束1：道里区 + 南岗区 + 道外区 ≥ 12,000" in text
    assert "core districts" not in text
