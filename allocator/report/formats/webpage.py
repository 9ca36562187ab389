"""HTML: one self-contained page with the charts inline (PNG) and every table."""

from __future__ import annotations

import base64
import html

from allocator.report.formats.common import caption, note_prefix, notes
from allocator.report.model import NUMERIC, Report

_CSS = """body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",SimSun,sans-serif;
margin:2em;color:#111}table{border-collapse:collapse;margin:0.5em 0;font-size:0.85em}
caption{font-weight:bold;padding:0.4em}thead tr{border-top:2px solid #000;border-bottom:1px solid #000}
tbody tr:last-child{border-bottom:2px solid #000}th,td{padding:0.2em 0.6em}td.num{text-align:right}
tr.subtotal td,tr.total td{font-weight:bold}p.note{font-size:0.85em;margin:0.2em 0}
figure{margin:1em 0}img{max-width:100%}td{white-space:nowrap}div.wide{overflow-x:auto}"""


def html_text(report: Report, lang: str, charts: dict[str, bytes] | None = None,
              chart_notes: tuple[str, ...] = ()) -> str:
    """A self-contained HTML page: title, notes, charts (inline PNG, captioned) and every
    table."""
    esc = html.escape
    parts = ["<!DOCTYPE html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">',
             '<head><meta charset="utf-8">', f"<title>{esc(report.title.get(lang))}</title>",
             f"<style>{_CSS}</style></head>", "<body>", f"<h1>{esc(report.title.get(lang))}</h1>"]
    parts += [f'<p class="note">{esc(line)}</p>' for line in notes(report, None, lang)]
    for title, png in (charts or {}).items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(f'<figure><img alt="{esc(title)}" src="data:image/png;base64,{data}">'
                     f"<figcaption>{esc(title)}</figcaption></figure>")
    if charts:
        parts += [f'<p class="note">{esc(note_prefix(lang) + n)}</p>' for n in chart_notes]
    for number, table in enumerate(report.tables, start=1):
        parts.append(f'<div class="wide"><table id="{esc(table.key)}">'
                     f"<caption>{esc(caption(table, number, lang))}</caption><thead><tr>"
                     + "".join(f"<th>{esc(h)}</th>" for h in table.headers(lang))
                     + "</tr></thead><tbody>")
        for i, row in enumerate(table.rows):
            cells = []
            for j in range(len(table.columns)):
                cls = ' class="num"' if table.columns[j].kind in NUMERIC else ""
                cells.append(f"<td{cls}>{esc(table.text(i, j, lang))}</td>")
            parts.append(f'<tr class="{row.level}">' + "".join(cells) + "</tr>")
        parts.append("</tbody></table></div>")
        parts += [f'<p class="note">{esc(line)}</p>' for line in notes(report, table, lang)]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
