"""Write the data cases of the red-team corpus (``data/<case>/``): run from the repository root
with ``python tests/redteam/make_cases.py``. The files are committed; this script documents how
each one was made (byte by byte for encodings, with openpyxl for workbooks) and remakes them.

Each case folder holds ``model.toml``, its data file and ``expect.toml``: the exit code of
``allocator run`` and either the whole error line (``message``, ``{dir}`` standing for the case
folder), parts of it (``contains``, ``absent``), or for a table that must be read, what it must
read (``ids``, ``labels``, ``values``, ``encoding``, ``sheet``).
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

HERE = Path(__file__).parent / "data"
MODEL = '''name = "red team"
data = "{data}"
id = "code"
label = "name"
cap = 100
{extra}
[indicators.pop]
column = "pop"
weight = 1
'''
HEAD = "code,name,pop\n"


def toml_value(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def case(name: str, data: bytes | None, expect: dict, *, file: str = "u.csv", extra: str = "",
         model: bytes | None = None) -> Path:
    folder = HERE / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if data is not None:
        (folder / file).write_bytes(data)
    text = MODEL.format(data=file, extra=extra)
    (folder / "model.toml").write_bytes(model if model is not None else text.encode("utf-8"))
    lines = []
    for key, value in expect.items():
        if isinstance(value, dict):
            continue
        lines.append(f"{key} = {toml_value(value)}")
    for key, value in expect.items():
        if isinstance(value, dict):
            lines.append(f"\n[{key}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in value.items()]
    (folder / "expect.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def number_error(cell: str, row: int = 2, unit: str = "A") -> str:
    return f"{{dir}}/u.csv, row {row} (id {unit}), column 'pop' (indicators.pop.column): {cell}"


COMMA = ("is not a number: a comma may only separate thousands, in groups of three (1,234,567); "
         "write a decimal comma as a point (10.5)")


def csv_cases() -> None:
    for name, cell in (("comma_single_digit_group", "1,0"), ("decimal_comma", "10,5"),
                       ("comma_two_digit_group", "1,23"), ("comma_after_four_digits", "1234,567")):
        case(name, f'{HEAD}A,x,"{cell}"\nB,y,2\n'.encode(),
             {"exit": 2, "message": number_error(f"'{cell}' {COMMA}")})
    case("thousands_separators", f'{HEAD}A,x,"1,234,567"\nB,y,"12,345.5"\nC,z,999\n'.encode(),
         {"exit": 0, "ids": ["A", "B", "C"], "values": {"pop": [1234567.0, 12345.5, 999.0]}})
    case("fullwidth_digits", f"{HEAD}A,x,１２３\nB,y,４５.５\n".encode(),
         {"exit": 0, "values": {"pop": [123.0, 45.5]}})
    case("space_as_thousands_separator", f"{HEAD}A,x,1 234\nB,y,2\n".encode(),
         {"exit": 2, "message": number_error("'1 234' is not a number")})
    case("circled_digit_as_number", f"{HEAD}A,x,①\nB,y,2\n".encode(),
         {"exit": 2, "message": number_error("'①' is not a number")})
    case("percent", f"{HEAD}A,x,12%\nB,y,2\n".encode(),
         {"exit": 2, "message": number_error("'12%' is not a number")})
    case("error_value_in_csv", f"{HEAD}A,x,3\nB,y,#DIV/0!\n".encode(),
         {"exit": 2, "message": number_error("'#DIV/0!' is a spreadsheet error value, not a "
                                             "number (fix the formula)", 3, "B")})
    case("error_value_as_id", f"{HEAD}A,x,3\n#N/A,y,2\n".encode(),
         {"exit": 2, "message": "{dir}/u.csv, row 3, column 'code' (id): unit id '#N/A' is a "
                                "spreadsheet error value (fix the formula)"})
    labels = ["道里区", "南岗区", "香坊区"]
    table = HEAD + "".join(f"{c},{n},{k}\n" for c, n, k in zip("ABC", labels, (1, 2, 3), strict=True))
    stray = table.encode("utf-8").replace("岗".encode(), b"\xff")  # one byte from another code page
    case("utf8_with_a_stray_byte", stray,
         {"exit": 2, "message": "{dir}/u.csv: line 3 is not valid UTF-8 (byte 0xFF at position 6 "
                                "of the line) but the rest of the file is; the file mixes "
                                "encodings: save it again as UTF-8"})
    case("utf8_bom_then_gbk", b"\xef\xbb\xbf" + table.encode("gbk"),
         {"exit": 2, "contains": ["line 2 is not valid UTF-8",
                                  "but the file starts with a UTF-8 BOM"]})
    case("gbk_export", table.encode("gbk"),
         {"exit": 0, "labels": labels, "encoding": "gb18030"})
    rare = HEAD + "A,𠀀区,1\nB,㐀乡,2\n"
    case("gb18030_four_byte_characters", rare.encode("gb18030"),
         {"exit": 0, "labels": ["𠀀区", "㐀乡"], "encoding": "gb18030"})
    case("utf8_bom", b"\xef\xbb\xbf" + table.encode("utf-8"),
         {"exit": 0, "labels": labels, "encoding": "utf-8-sig"})
    case("bom_inside_cells", ("\ufeff" + HEAD + "A,\ufeffx,1\r\n\ufeffB,y,2\n"
                              "C\ufeff,z,\ufeff3\n").encode("utf-8"),
         {"exit": 0, "ids": ["A", "B", "C"], "labels": ["x", "y", "z"], "encoding": "utf-8-sig",
          "values": {"pop": [1.0, 2.0, 3.0]}})
    case("bom_hides_a_duplicate_id", (HEAD + "A,x,1\n\ufeffA,y,2\n").encode("utf-8"),
         {"exit": 2, "message": "{dir}/u.csv, row 3, column 'code' (id): duplicate unit id 'A' "
                                "(first on row 2)"})
    case("utf16_unicode_text", "code\tname\tpop\nA\tx\t1\n".encode("utf-16"),
         {"exit": 2, "message": "{dir}/u.csv: the file is UTF-16 text (Excel's 'Unicode text'); "
                                "save it as CSV UTF-8 (comma-separated)"})
    case("tab_separated", b"code\tname\tpop\nA\tx\t1\nB\ty\t2\n",
         {"exit": 2, "message": "{dir}/u.csv: the file seems to be tab-separated; save it as "
                                "comma-separated CSV"})
    case("semicolon_separated", b"code;name;pop\nA;x;1,5\nB;y;2\n",
         {"exit": 2, "message": "{dir}/u.csv: the file seems to be semicolon-separated; save it "
                                "as comma-separated CSV"})
    case("crlf_line_endings", b"code,name,pop\r\nA,x,1\r\nB,y,2\r\n",
         {"exit": 0, "ids": ["A", "B"], "values": {"pop": [1.0, 2.0]}})
    case("odd_spaces", f"{HEAD}A\u3000,x,\u00a012\nB,y, 45\u3000\n".encode(),
         {"exit": 0, "ids": ["A", "B"], "values": {"pop": [12.0, 45.0]}})
    case("ids_with_other_digits", f"{HEAD}①,x,1\n1²,y,2\n10,z,3\n2,w,4\nU²,v,5\n".encode(),
         {"exit": 0, "ids": ["1²", "2", "10", "U²", "①"]})
    case("model_with_a_bom", f"{HEAD}A,x,1\nB,y,2\n".encode(), {"exit": 0, "ids": ["A", "B"]},
         model=b"\xef\xbb\xbf" + MODEL.format(data="u.csv", extra="").encode("utf-8"))
    case("tiny_ceiling", f"{HEAD}A,x,1\nB,y,2\n".encode(),
         {"exit": 3, "contains": ["raise the ceiling to 50"], "absent": ["the cap to 0"]},
         extra="[bounds]\nceiling = 0.5\n")


def workbook(sheets: dict[str, list[list]], *, active: str | None = None,
             hidden: tuple[str, ...] = ()):
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if name in hidden:
            sheet.sheet_state = "hidden"
    if active is not None:
        book.active = book.sheetnames.index(active)
    return book


def xlsx_bytes(book) -> bytes:
    """The workbook's bytes, the same on every run (fixed times in the archive and properties)."""
    import io

    buffer = io.BytesIO()
    book.save(buffer)
    return _rewrite(buffer.getvalue(), "docProps/core.xml", lambda text: re.sub(
        r"(<dcterms:(?:created|modified)[^>]*>)[^<]*", r"\g<1>2020-01-01T00:00:00Z", text))


def with_active_tab(data: bytes, index: int) -> bytes:
    """The workbook opening on sheet ``index`` (openpyxl never writes a hidden active sheet,
    other programs do)."""
    return _rewrite(data, "xl/workbook.xml", lambda text: re.sub(
        r"<workbookView([^>]*?)(\s*/?>)", lambda m: "<workbookView" + re.sub(
            r'\s*activeTab="\d+"', "", m.group(1)) + f' activeTab="{index}"' + m.group(2), text))


def _rewrite(data: bytes, part: str, change) -> bytes:
    import io

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == part:
                content = change(content.decode("utf-8")).encode("utf-8")
            item.date_time = (2020, 1, 1, 0, 0, 0)
            target.writestr(item, content)
    return out.getvalue()


def with_cached_values(data: bytes, values: dict[str, str]) -> bytes:
    """The workbook with a cached value stored for each formula cell (as Excel does on save)."""
    def store(text: str) -> str:
        for ref, value in values.items():
            text = re.sub(rf'(<c r="{ref}"[^>]*>)(<f>[^<]*</f>)(<v\s*/>|<v></v>)?',
                          rf"\1\2<v>{value}</v>", text)
        return text

    return _rewrite(data, "xl/worksheets/sheet1.xml", store)


def xlsx_cases() -> None:
    head = ["code", "name", "pop"]
    good = [head, ["A", "x", 10], ["B", "y", 20]]
    old = [head, ["Z", "old", 1]]
    case("xlsx_hidden_first_sheet",
         xlsx_bytes(workbook({"old": old, "units": good}, active="units", hidden=("old",))),
         {"exit": 0, "ids": ["A", "B"], "sheet": "units"}, file="u.xlsx")
    book = workbook({"units": good, "old": old}, hidden=("old",))
    case("xlsx_active_sheet_hidden", with_active_tab(xlsx_bytes(book), 1),
         {"exit": 2, "message": "{dir}/u.xlsx: the active sheet 'old' is hidden; name the sheet to "
                                "read with 'sheet' in the model (visible sheets: units)"},
         file="u.xlsx")
    case("xlsx_uncalculated_formula",
         xlsx_bytes(workbook({"units": [head, ["A", "x", "=1+1"], ["B", "y", 20]]})),
         {"exit": 2, "message": "{dir}/u.xlsx, row 2 (id A), column 'pop' (indicators.pop.column): "
                                "the formula =1+1 has no calculated value (open the file in Excel "
                                "or WPS and save it, so that the values are stored)"},
         file="u.xlsx")
    case("xlsx_row_of_uncalculated_formulas",
         xlsx_bytes(workbook({"units": [head, ["A", "x", 5], ['="B"', '="y"', "=2*3"]]})),
         {"exit": 2, "message": "{dir}/u.xlsx, row 3, column 'code' (id): the formula =\"B\" has "
                                "no calculated value (open the file in Excel or WPS and save it, "
                                "so that the values are stored)"},
         file="u.xlsx")
    case("xlsx_error_cells",
         xlsx_bytes(workbook({"units": [head, ["A", "x", 4], ["B", "y", "#DIV/0!"],
                                        ["C", "z", "#N/A"]]})),
         {"exit": 2, "message": "{dir}/u.xlsx, row 3 (id B), column 'pop' (indicators.pop.column): "
                                "'#DIV/0!' is a spreadsheet error value, not a number (fix the "
                                "formula)"},
         file="u.xlsx")
    case("xlsx_ref_error_as_id",
         xlsx_bytes(workbook({"units": [head, ["#REF!", "x", 4], ["B", "y", 3]]})),
         {"exit": 2, "message": "{dir}/u.xlsx, row 2, column 'code' (id): unit id '#REF!' is a "
                                "spreadsheet error value (fix the formula)"},
         file="u.xlsx")
    calculated = xlsx_bytes(workbook({"units": [head, ["A", "x", "=2*5"], ["B", "y", "=C2*2"]]}))
    case("xlsx_calculated_formulas", with_cached_values(calculated, {"C2": "10", "C3": "20"}),
         {"exit": 0, "ids": ["A", "B"], "values": {"pop": [10.0, 20.0]}, "sheet": "units"},
         file="u.xlsx")


if __name__ == "__main__":
    csv_cases()
    xlsx_cases()
