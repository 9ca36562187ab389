"""Render every output of the bundled models, in Chinese and English, to PNG pages to look at.

    python tools/render_outputs.py [--out DIR] [--models harbin,china] [--langs zh,en]
                                   [--dpi 70] [--skip-studies]

Models: harbin, china, harbin_constraints, china_provinces (default: all). For each model and
language this writes the report folder (every format, a unit explained), the transition folder
(when the model has current posts; a model without a ``[transition]`` table plans 15 years at 4%
departures a year) and the three sensitivity studies and the derived weights, then renders the
documents of the report and transition folders:

* DOCX and XLSX with LibreOffice headless (``soffice --convert-to pdf``), then ``pdftoppm``;
* HTML with headless Chromium (``--screenshot``, a 1,280-pixel-wide window), saying whether every
  table fits that window (tests/test_report_browser.py checks it for every bundled model);
* the LaTeX document with XeLaTeX (twice, for the numbering), then ``pdftoppm``;
* the charts (PNG) as they are.

Pages land in ``DIR/<model>_<lang>/pages/`` (those of the transition folder named
``transition_...``); ``DIR/index.txt`` lists them. Tools that are not
installed are skipped with a message (Debian: ``apt-get install libreoffice-writer
libreoffice-calc fonts-noto-cjk chromium poppler-utils texlive-xetex texlive-lang-chinese
texlive-latex-extra``). This is a script for a person to look at the pages; the tests check the
files themselves.
"""

from __future__ import annotations

import argparse
import datetime
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # render this checkout, whatever is installed
    sys.path.insert(0, str(ROOT))

MODELS = {"harbin": ("harbin_2020.toml", "230108"), "china": ("china_counties_2020.toml", "110105"),
          "harbin_constraints": ("harbin_2020_constraints.toml", "230102"),
          "china_provinces": ("china_counties_2020_provinces.toml", "110105")}
TRANSITION = {"years": 15, "departure_rate": 0.04}  # for a model without a [transition] table
DATE = datetime.date(2025, 1, 15)  # a fixed date: renders of two runs compare page by page


def run(command: list[str], cwd: Path | None = None, timeout: int = 600) -> bool:
    """Run a command quietly; say what failed."""
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"  failed: {' '.join(command[:3])}...: {exc}")
        return False
    if done.returncode != 0:
        print(f"  failed ({done.returncode}): {' '.join(command[:4])}...\n"
              f"{(done.stdout + done.stderr)[-1500:]}")
        return False
    return True


def pdf_pages(pdf: Path, pages: Path, stem: str, dpi: int) -> list[Path]:
    """Every page of a PDF as PNG."""
    if not shutil.which("pdftoppm"):
        print("  pdftoppm not installed (poppler-utils): skipped")
        return []
    run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(pages / stem)])
    return sorted(pages.glob(f"{stem}*.png"))


def office_pages(document: Path, pages: Path, dpi: int, prefix: str = "") -> list[Path]:
    """A DOCX or XLSX through LibreOffice to PDF, then to PNG pages (named ``prefix`` + stem)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        print("  LibreOffice not installed: skipped", document.name)
        return []
    with tempfile.TemporaryDirectory() as profile, tempfile.TemporaryDirectory() as out:
        ok = run([soffice, f"-env:UserInstallation=file://{profile}", "--headless",
                  "--convert-to", "pdf", "--outdir", out, str(document)])
        pdf = Path(out) / (document.stem + ".pdf")
        if not ok or not pdf.is_file():
            return []
        stem = f"{prefix}{document.stem}_{document.suffix[1:]}"
        kept = pages / f"{stem}.pdf"
        shutil.copy(pdf, kept)
        return pdf_pages(kept, pages, stem, dpi)


MEASURE = ("<script>document.title = Array.from(document.querySelectorAll('div.wide'))"
           ".map(d => d.scrollWidth + '/' + d.clientWidth).join(' ')</script></body>")


def html_fits(chromium: str, document: Path, profile: str) -> None:
    """Say whether every table of the page fits a 1,280-pixel window (no sideways scrolling)."""
    probe = document.with_name("fit_probe.html")
    probe.write_text(document.read_text("utf-8").replace("</body>", MEASURE), encoding="utf-8")
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                           f"--user-data-dir={profile}", "--window-size=1280,900",
                           "--dump-dom", probe.resolve().as_uri()],
                          capture_output=True, text=True, timeout=300)
    probe.unlink()
    found = re.search(r"<title>([\d/ ]*)</title>", done.stdout)
    widths = [tuple(map(int, w.split("/"))) for w in found.group(1).split()] if found else []
    wide = [f"{s}>{c}" for s, c in widths if s > c]
    print(f"  tables in a 1,280-pixel window: {'all fit' if not wide else 'scroll ' + ', '.join(wide)}")


def html_page(document: Path, pages: Path, height: int, prefix: str = "") -> list[Path]:
    """The HTML page in a 1,280-pixel-wide headless Chromium window."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") \
        or shutil.which("google-chrome")
    if not chromium:
        print("  Chromium not installed: skipped", document.name)
        return []
    target = pages / f"{prefix}report_html.png"
    with tempfile.TemporaryDirectory() as profile:
        run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={profile}", f"--window-size=1280,{height}",
             f"--screenshot={target}", document.resolve().as_uri()])
        html_fits(chromium, document, profile)
    return [target] if target.is_file() else []


def tex_pages(document: Path, pages: Path, dpi: int, prefix: str = "") -> list[Path]:
    """The LaTeX document through XeLaTeX (twice), then to PNG pages."""
    if not shutil.which("xelatex"):
        print("  XeLaTeX not installed: skipped", document.name)
        return []
    for _ in range(2):
        if not run(["xelatex", "-interaction=nonstopmode", "-halt-on-error", document.name],
                   cwd=document.parent):
            return []
    pdf = document.with_suffix(".pdf")
    kept = pages / f"{prefix}report_tex.pdf"
    shutil.copy(pdf, kept)
    return pdf_pages(kept, pages, f"{prefix}report_tex", dpi)


def write_outputs(model: Path, unit: str, lang: str, folder: Path, studies: bool) -> list[Path]:
    """The report folder, the transition folder (a model with current posts) and the study
    folders of one model in one language."""
    from allocator import load_model
    from allocator.pipeline import plan_transition
    from allocator.report import ReportOptions, write_report
    from allocator.report.studies import (
        SensitivityOptions,
        WeightsOptions,
        run_study,
        write_derived_weights,
    )
    from allocator.report.transition import TransitionReportOptions, write_transition_report
    from allocator.studies.montecarlo import MonteCarloOptions

    out = [write_report(model, folder / "report", ReportOptions(lang=lang, explain=unit,
                                                                date=DATE), force=True).out_dir]
    spec = load_model(model)
    if spec.actual is not None:
        plan = plan_transition(model, None if spec.transition else TRANSITION,
                               allow_unfinished=True)
        out.append(write_transition_report(plan, folder / "transition", TransitionReportOptions(
            lang=lang, date=DATE), force=True).out_dir)
    if studies:
        for method, extra in (("sweep", {"indicator": "area", "stop": 0.6, "steps": 7}),
                              ("oat", {}),
                              ("montecarlo", {"montecarlo": MonteCarloOptions(samples=300)})):
            options = SensitivityOptions(method=method, lang=lang, **extra)
            out.append(run_study(model, options, folder / method, force=True).out_dir)
        out.append(write_derived_weights(model, WeightsOptions(samples=200, lang=lang),
                                         folder / "weights", force=True).out_dir)
    return out


def render(name: str, lang: str, out: Path, dpi: int, studies: bool) -> list[Path]:
    """Every output of one model in one language, rendered; returns the page images."""
    file, unit = MODELS[name]
    folder = out / f"{name}_{lang}"
    pages = folder / "pages"
    if folder.exists():
        shutil.rmtree(folder)
    pages.mkdir(parents=True)
    print(f"{name} {lang}: writing outputs")
    written = write_outputs(ROOT / "models" / file, unit, lang, folder, studies)
    images: list[Path] = []
    for documents in (f for f in written if f.name in ("report", "transition")):
        prefix = "" if documents.name == "report" else "transition_"
        for document in ("report.docx", "report.xlsx"):
            print(f"  {prefix}{document}")
            images += office_pages(documents / document, pages, dpi, prefix)
        print(f"  {prefix}report.html")
        images += html_page(documents / "report.html", pages,
                            9000 if name.startswith("harbin") else 30000, prefix)
        print(f"  {prefix}report.tex")
        images += tex_pages(documents / "report.tex", pages, dpi, prefix)
    for folder_ in written:
        for chart in sorted(folder_.glob("*.png")):
            target = pages / f"{folder_.name}_{chart.name}"
            shutil.copy(chart, target)
            images.append(target)
    return images


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("out") / "renders")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--langs", default="zh,en")
    parser.add_argument("--dpi", type=int, default=70)
    parser.add_argument("--skip-studies", action="store_true")
    args = parser.parse_args(argv)
    index = []
    for name in args.models.split(","):
        for lang in args.langs.split(","):
            for image in render(name, lang, args.out, args.dpi, not args.skip_studies):
                index.append(str(image))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "index.txt").write_text("\n".join(index) + "\n", encoding="utf-8")
    print(f"{len(index)} page images; listed in {args.out / 'index.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
