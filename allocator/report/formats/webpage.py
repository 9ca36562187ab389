"""HTML: one self-contained page: title, method statement, every table (numbered, notes below)
and the charts inline as numbered figures. Headers break only between words, long text cells
wrap and a subtotal's label runs on over the empty unit and group cells, so that the tables of
every bundled model fit a 1,280-pixel window; the fonts name Chinese faces of every platform."""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

from allocator.report.formats.common import WRAP_WIDTH, label_span, outline, text_width
from allocator.report.model import NUMERIC, Report, Table

if TYPE_CHECKING:
    from allocator.report.charts import ChartImage

FONTS = ('"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Hiragino Sans GB",'
         '"Microsoft YaHei","SimHei","WenQuanYi Micro Hei",sans-serif')
_CSS = "body{font-family:" + FONTS + """;margin:1.5em auto;max-width:1240px;padding:0 16px;color:#111;
line-height:1.5}h1{text-align:center;font-size:1.6em}h2{font-size:1.2em;margin-top:1.5em}
p.method{text-indent:2em;margin:0.4em 0}table{border-collapse:collapse;margin:0.5em auto;
font-size:12.5px}caption{font-weight:bold;padding:0.4em;font-size:14px}
thead tr{border-top:2px solid #000;border-bottom:1px solid #000}tbody tr:last-child
{border-bottom:2px solid #000}th{padding:0.2em 0.3em;word-break:keep-all;vertical-align:bottom;
font-weight:bold}td{padding:0.15em 0.3em;white-space:nowrap}td.num{text-align:right;
font-variant-numeric:tabular-nums}td.wrap{white-space:normal;min-width:6em}td.long{min-width:7em}
tr.subtotal td,tr.total td{font-weight:bold}p.note{font-size:0.85em;margin:0.2em 0}
figure{margin:1.2em 0;text-align:center}figure img{max-width:min(100%,860px);
height:auto}figcaption{font-weight:bold;margin-top:0.3em}div.wide{overflow-x:auto}"""
LONG = 2 * WRAP_WIDTH  # text wider than WRAP_WIDTH wraps (Chinese between any two characters)
# in a column of 6 ems at least, wider than LONG of 7, so that it never becomes a narrow strip;
# shorter text stays on one line


def _header(table: Table, j: int, lang: str) -> str:
    """A header cell's text with break opportunities (``<wbr>``) between its words only."""
    return "<wbr>".join(html.escape(p) for p in table.columns[j].header_parts(lang))


def _cell_class(table: Table, i: int, j: int, text: str) -> str:
    """The class of a body cell: numbers on one line, long text that may wrap."""
    if table.format(i, j)[0] in NUMERIC:
        return ' class="num"'
    width = text_width(text)
    return ' class="wrap long"' if width > LONG else ' class="wrap"' if width > WRAP_WIDTH else ""


def _figure(image: ChartImage, caption: str) -> str:
    data = base64.b64encode(image.png).decode("ascii")
    text = html.escape(caption)
    return (f'<figure><img alt="{text}" src="data:image/png;base64,{data}">'
            f"<figcaption>{text}</figcaption></figure>")


def html_text(report: Report, lang: str, charts: tuple[ChartImage, ...] = (),
              chart_notes: tuple[str, ...] = ()) -> str:
    """A self-contained HTML page: title, method statement, tables and numbered figures (inline
    PNG): the charts of the comparison after its table, a waterfall after the explanation."""
    esc = html.escape
    document = outline(report, lang, charts, chart_notes)
    parts = ["<!DOCTYPE html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">',
             '<head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{esc(document.title)}</title>",
             f"<style>{_CSS}</style></head>", "<body>", f"<h1>{esc(document.title)}</h1>"]
    if document.method_heading:
        parts.append(f"<h2>{esc(document.method_heading)}</h2>")
        parts += [f'<p class="method">{esc(p)}</p>' for p in document.method]
    parts += [f'<p class="note">{esc(line)}</p>' for line in document.notes]
    for section in document.sections:
        table = section.table
        parts.append(f'<div class="wide"><table id="{esc(table.key)}">'
                     f"<caption>{esc(section.caption)}</caption><thead><tr>"
                     + "".join(f"<th>{_header(table, j, lang)}</th>"
                               for j in range(len(table.columns)))
                     + "</tr></thead><tbody>")
        columns = list(range(len(table.columns)))
        for i, row in enumerate(table.rows):
            cells = []
            for j in columns:
                text = table.text(i, j, lang)
                cells.append(f"<td{_cell_class(table, i, j, text)}>{esc(text)}</td>")
            span = label_span(table, i, columns, lang)
            if span > 1:  # a subtotal's label runs on over the empty unit and group cells
                cells[:span] = [cells[0].replace("<td", f'<td colspan="{span}"', 1)]
            parts.append(f'<tr class="{row.level}">' + "".join(cells) + "</tr>")
        parts.append("</tbody></table></div>")
        parts += [f'<p class="note">{esc(line)}</p>' for line in section.notes]
        parts += [_figure(image, text) for image, text in section.figures]
        parts += [f'<p class="note">{esc(line)}</p>' for line in section.figure_notes]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
