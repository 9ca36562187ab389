"""The ``explore`` command: a local web page on which the weights move and the allocation follows.

The library and the server are imported inside the command, so that ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from allocator.cli.console import console
from allocator.cli.options import ModelArg


def explore(
    model: ModelArg,
    port: Annotated[int, typer.Option(
        "--port", min=0, max=65535,
        help="Port on 127.0.0.1 (default: a free one).")] = 0,
    no_browser: Annotated[bool, typer.Option(
        "--no-browser", help="Do not open the page in a browser; only print its address.")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder that saved scenarios go into (default: out).",
        show_default=False)] = None,
) -> None:
    """Open a local web page to move the weights and watch the allocation move.

    Prints the page's address with its access token on one line and opens it in a browser. The
    page (zh or en) has a slider per weight (final shares, with locks), the cap, the rounding
    method and each bound on or off; the table, the charts, the Monte Carlo bands, a unit's
    waterfall, and "save scenario", which writes a model file and its report folder. Serves
    127.0.0.1 only; Ctrl-C stops it.

    Example: allocator explore models/harbin_2020.toml --no-browser
    """
    import threading
    import webbrowser

    from allocator.explore.server import serve
    from allocator.explore.session import Explorer
    from allocator.report.labels import plain_text

    explorer = Explorer(model, out_root=out or Path("out"))

    def ready(url: str) -> None:
        console.print(f"{plain_text(explorer.spec.name)}: the explorer is at this address (Ctrl-C stops it):",
                      soft_wrap=True, highlight=False)
        typer.echo(url)
        if no_browser:
            return
        if _graphical():
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        else:
            console.print("no graphical browser here: open the address in a browser on this "
                          "machine", soft_wrap=True)

    serve(explorer, port=port, ready=ready)
    with contextlib.suppress(OSError):  # the terminal may be gone
        console.print("the explorer stopped")


def _graphical() -> bool:
    """Whether a browser can open a window here (or the user named one in $BROWSER): on Linux
    without a display, Python's webbrowser would start a text browser in this very terminal."""
    return bool(os.environ.get("BROWSER") or sys.platform in ("darwin", "win32")
                or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
