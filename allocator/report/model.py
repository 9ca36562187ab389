"""One table model for every export: columns with Chinese and English headers and a kind.

Every format (CSV, XLSX, DOCX, Markdown, LaTeX, HTML) and every chart reads its numbers through
:meth:`Table.value` and its text through :meth:`Table.text`, so the numbers cannot differ between
formats. Numbers are rounded once, here, to the column's digits; text cells pass through
:func:`allocator.outputs.runfiles.neutralise` so that no export can turn them into spreadsheet formulas.

>>> t = Table("demo", T("示例", "Demo"),
...           (Column("name", "单位", "Unit"), Column("posts", "编制数", "Posts", "int"),
...            Column("change", "增减比例", "Change", "pct", 1)),
...           (Row(("=evil", 12345.4, -3.04)), Row((T("合计", "Total"), 12345, -3.0), "total")))
>>> t.headers("zh"), t.headers("en")
(['单位', '编制数', '增减比例'], ['Unit', 'Posts', 'Change'])
>>> [t.text(0, j, "en") for j in range(3)]
["'=evil", '12,345', '-3.0%']
>>> t.text(1, 0, "zh"), t.value(0, 1)
('合计', 12345)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from allocator.choices import Language, names
from allocator.outputs.cells import neutralise

Kind = Literal["text", "int", "float", "pct"]
BREAK = "\u200b"  # in a header: where a line may break (a zero-width space, never written out)
LANGS: tuple[str, ...] = names(Language)  # every label has one text per language
NUMERIC: tuple[str, ...] = ("int", "float", "pct")


class T(NamedTuple):
    """A label in Chinese and English."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        """The label in ``lang`` (``zh`` or ``en``)."""
        return self.zh if lang == Language.ZH else self.en


def text_in(value, lang: str) -> str:
    """A text value in ``lang``: a :class:`T` picks its language, anything else stays as it is.

    >>> text_in(T("合计", "Total"), "en"), text_in("道里区", "en"), text_in(None, "zh")
    ('Total', '道里区', '')
    """
    if value is None:
        return ""
    return value.get(lang) if isinstance(value, T) else str(value)


@dataclass(frozen=True)
class Column:
    """A column: key, Chinese and English header, kind and decimal digits (numbers only).

    ``pct`` values are percentages (12.5 means 12.5%).
    """

    key: str
    zh: str
    en: str
    kind: Kind = "text"
    digits: int = 0

    def header(self, lang: str) -> str:
        """Header text in ``lang`` (neutralised: headers can hold model keys)."""
        return neutralise((self.zh if lang == Language.ZH else self.en).replace(BREAK, ""))

    def header_parts(self, lang: str) -> list[str]:
        """The header in pieces between which a line may break (see :func:`header_parts`)."""
        return header_parts(neutralise(self.zh if lang == Language.ZH else self.en))


def header_parts(text: str) -> list[str]:
    """Pieces of a header between which a printed table may break a line: at the marks
    :data:`BREAK`, after spaces and before a bracket; never inside a word.

    >>> header_parts("面积（平方公里）"), header_parts("调整前\u200b每万人编制数")
    (['面积', '（平方公里）'], ['调整前', '每万人编制数'])
    >>> header_parts("Posts per 10,000 residents")
    ['Posts ', 'per ', '10,000 ', 'residents']
    """
    parts: list[str] = []
    current = ""
    for ch in text:
        if ch == BREAK or (ch in "（(" and current.strip()):
            parts.append(current)
            current = "" if ch == BREAK else ch
            continue
        current += ch
        if ch == " ":
            parts.append(current)
            current = ""
    parts.append(current)
    return [p for p in parts if p]


@dataclass(frozen=True)
class Row:
    """One row. ``level`` is unit, subtotal or total; ``formats`` optionally gives each cell its
    own ``(kind, digits)`` (for item/value tables whose values are of different kinds)."""

    values: tuple
    level: Literal["unit", "subtotal", "total"] = "unit"
    formats: tuple[tuple[Kind, int] | None, ...] | None = None


@dataclass(frozen=True)
class Table:
    """A captioned table with notes, rendered identically by every format; ``column_notes`` are
    notes on one column (by key), printed only where that column is shown."""

    key: str
    title: T
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    notes: tuple[T, ...] = ()
    column_notes: tuple[tuple[str, T], ...] = ()

    def headers(self, lang: str) -> list[str]:
        """Column headers in ``lang``."""
        return [c.header(lang) for c in self.columns]

    def index(self, key: str) -> int:
        """Position of the column ``key``."""
        for j, column in enumerate(self.columns):
            if column.key == key:
                return j
        raise KeyError(key)

    def format(self, i: int, j: int) -> tuple[Kind, int]:
        """``(kind, digits)`` of cell (i, j)."""
        own = self.rows[i].formats
        cell = own[j] if own is not None else None
        if cell is not None:
            return cell
        column = self.columns[j]
        return column.kind, column.digits

    def value(self, i: int, j: int, lang: str = "en"):
        """The cell as every format shows it: a number rounded to its digits (int for ``int``),
        safe text in ``lang``, or None for an empty cell."""
        raw = self.rows[i].values[j]
        kind, digits = self.format(i, j)
        if kind == "text":
            return neutralise(text_in(raw, lang)) if raw is not None else None
        return rounded(raw, kind, digits)

    def text(self, i: int, j: int, lang: str) -> str:
        """The cell as display text: thousands separators, fixed digits, ``%`` for percentages."""
        value = self.value(i, j, lang)
        kind, digits = self.format(i, j)
        return display(value, kind, digits)

    def column_values(self, key: str, level: str = "unit") -> list:
        """Values of one column over the rows of one level."""
        j = self.index(key)
        return [self.value(i, j) for i, row in enumerate(self.rows) if row.level == level]


def rounded(raw, kind: str, digits: int):
    """A number rounded as shown (None and NaN become None; -0.0 becomes 0.0).

    >>> rounded(2.0, "int", 0), rounded(-0.04, "pct", 1), rounded(float("nan"), "float", 1)
    (2, 0.0, None)
    """
    if raw is None:
        return None
    number = float(raw)
    if number != number:
        return None
    if kind == "int":
        return int(round(number))
    return round(number, digits) + 0.0


def display(value, kind: str, digits: int) -> str:
    """Display text of an already rounded value.

    >>> display(1234567, "int", 0), display(-12.5, "pct", 1), display(None, "float", 1)
    ('1,234,567', '-12.5%', '')
    """
    if value is None:
        return ""
    if kind == "text":
        return str(value)
    if kind == "int":
        return f"{value:,d}"
    suffix = "%" if kind == "pct" else ""
    return f"{value:,.{digits}f}{suffix}"


def number_format(kind: str, digits: int) -> str:
    """The Excel number format of a kind (percentages are stored as fractions).

    >>> number_format("int", 0), number_format("float", 2), number_format("pct", 1)
    ('#,##0', '#,##0.00', '0.0%')
    """
    if kind == "int" or (kind == "float" and digits == 0):
        return "#,##0"
    if kind == "float":
        return "#,##0." + "0" * digits
    if kind == "pct":
        return "0." + "0" * digits + "%" if digits else "0%"
    return "@"


@dataclass(frozen=True)
class Report:
    """Every table of a report with the notes that must travel with it, the method statement
    (paragraphs) and the unit names (id -> name in both languages) the charts use."""

    title: T
    tables: tuple[Table, ...]
    notes: tuple[T, ...] = ()
    method: tuple[T, ...] = ()
    unit_names: dict[str, T] = field(default_factory=dict)

    def table(self, key: str) -> Table:
        """The table named ``key``."""
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)
