"""Render charts to one self-contained HTML file (inline SVG, inline CSS) and PNGs.

Self-contained means nothing to fetch: the SVG is written with text kept as text
(``svg.fonttype = none``, so titles and legends stay searchable), without the XML
prologue, DOCTYPE, metadata or namespace declarations (HTML5 parses inline SVG
without them), so the file holds no ``http(s)://`` reference at all.
"""

from __future__ import annotations

import html
import io
import math
import re
from typing import TYPE_CHECKING

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg

from optimiser.attribution import GRID_SOURCE
from service.report.charts import SOURCES_KEY, SOURCES_TITLE, draw_all, totals
from service.report.congestion import CHANGE_KEY, HEATMAP_KEY
from service.report.network import MAP_KEY, MAP_TITLE
from service.report.notes import notes
from service.report.plandir import SOURCES_KEY as DETAILS_SOURCES

if TYPE_CHECKING:
    from pathlib import Path

    from service.report.charts import Chart
    from service.report.plandir import PlanTables

__all__ = ["render_report", "svg_of"]

#: PNG resolution (dots per inch): 9 in wide charts come out 900 px wide.
PNG_DPI = 100
#: Plants listed per site in the sources table; the rest are summed in one row.
SOURCES_PER_SITE = 5

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; }
td, th { padding: .25rem .75rem; border-bottom: 1px solid #ddd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.sources { margin-top: 1rem; font-size: .9rem; }
ul.notes li { margin: .3rem 0; }
figure { margin: 0; } figcaption { color: #555; font-size: .9rem; }
svg { max-width: 100%; height: auto; }
"""

#: Totals shown in the table: key -> (label, unit).
TOTALS = {
    "mining_mwh": ("Energy mined", "MWh"),
    "mining_mwh_curtailed": ("of which curtailment absorbed", "MWh"),
    "mining_mwh_other": ("of which other generation", "MWh"),
    "curtailment_mwh_before": ("Curtailment without mining", "MWh"),
    "curtailment_mwh_after": ("Curtailment with mining", "MWh"),
    "revenue": ("Revenue of the mined energy", "currency"),
    "mining_co2_t": ("CO2 of the mining energy", "t"),
}

_STRIP = (
    re.compile(r"<\?xml[^>]*\?>\s*"),
    re.compile(r"<!DOCTYPE[^>]*>\s*"),
    re.compile(r"<metadata>.*?</metadata>\s*", re.S),
    re.compile(r'\s+xmlns(?::\w+)?="[^"]*"'),
)


def svg_of(chart: Chart) -> str:
    """The chart as an inline ``<svg>`` element (text kept as text, no external refs)."""
    buf = io.StringIO()
    # a salt per chart keeps clip-path ids unique across the SVGs of one page
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"spw-{chart.key}"}):
        FigureCanvasAgg(chart.figure)  # attach an Agg canvas: no display backend needed
        chart.figure.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    for pattern in _STRIP:
        text = pattern.sub("", text)
    return text.strip()


def _totals_table(t: PlanTables) -> str:
    rows = []
    for key, value in totals(t).items():
        label, unit = TOTALS[key]
        shown = "n/a" if math.isnan(value) else f"{value:,.3f}"
        rows.append(
            f'<tr><th scope="row">{html.escape(label)}</th>'
            f'<td class="num" data-key="{key}" data-value="{value!r}">{shown}</td>'
            f"<td>{html.escape(unit)}</td></tr>"
        )
    return '<table class="totals">\n' + "\n".join(rows) + "\n</table>"


def _sources_table(t: PlanTables) -> str:
    """Each site's traced energy by source, largest first: the top
    :data:`SOURCES_PER_SITE` plants, the rest summed in one row, ``grid`` last."""
    by_source = t.mining_mwh_by_site_and_source
    if by_source is None:
        return ""
    rows = [
        "<tr><th>site</th><th>source</th><th>carrier</th>"
        "<th>energy (MWh)</th><th>share of site (%)</th></tr>"
    ]

    def row(site: str, source: str, carrier: str, mwh: float, total: float, attr: str) -> str:
        share = 100.0 * mwh / total if total > 0 else 0.0
        return (
            f"<tr><td>{html.escape(site)}</td><td>{html.escape(source)}</td>"
            f"<td>{html.escape(carrier)}</td>"
            f'<td class="num" data-site="{html.escape(site)}" {attr} data-value="{mwh!r}">'
            f'{mwh:,.3f}</td><td class="num">{share:.1f}</td></tr>'
        )

    for site, part in by_source.groupby("site", sort=False):
        site = str(site)
        total = float(part["mwh"].sum())
        plants = part[part["source"] != GRID_SOURCE].sort_values(
            "mwh", ascending=False, kind="stable"
        )
        for _, source, carrier, mwh in plants.head(SOURCES_PER_SITE).itertuples(index=False):
            attr = f'data-source="{html.escape(source)}"'
            rows.append(row(site, source, carrier, mwh, total, attr))
        rest = plants.iloc[SOURCES_PER_SITE:]
        if len(rest):
            label = f"{len(rest)} other sources"
            mwh = float(rest["mwh"].sum())
            rows.append(row(site, label, "", mwh, total, f'data-folded="{len(rest)}"'))
        for _, source, carrier, mwh in part[part["source"] == GRID_SOURCE].itertuples(index=False):
            attr = f'data-source="{html.escape(source)}"'
            rows.append(row(site, source, carrier, mwh, total, attr))
    return '<table class="sources">\n' + "\n".join(rows) + "\n</table>"


def _section(c: Chart, t: PlanTables) -> str:
    table = f"\n{_sources_table(t)}" if c.key == SOURCES_KEY else ""
    return (
        f'<section id="{c.key}"><h2>{html.escape(c.title)}</h2>\n<figure>\n{svg_of(c)}\n'
        f"<figcaption>{html.escape(c.caption)} Legend: "
        f"{html.escape('; '.join(c.legend))}.</figcaption></figure>{table}</section>"
    )


def _sources_absent() -> str:
    """The sources section of a plan directory written without the sources table."""
    return (
        f'<section id="{SOURCES_KEY}"><h2>{html.escape(SOURCES_TITLE)}</h2>\n'
        f'<p class="absent">No breakdown by source: this plan directory&#x27;s details.json '
        f"has no {DETAILS_SOURCES} (it was written before plans traced their sources, "
        "or the plan could not be traced); plan again with "
        "<code>spillway plan --out</code> to get it.</p></section>"
    )


def _absent(key: str, title: str, why: str) -> str:
    return (
        f'<section id="{key}"><h2>{html.escape(title)}</h2>\n'
        f'<p class="absent">{html.escape(why)}</p></section>'
    )


def _notes(t: PlanTables) -> str:
    items = notes(t)
    if not items:
        return ""
    lis = "\n".join(f"<li>{html.escape(n)}</li>" for n in items)
    return (
        f'<section id="notes"><h2>Notes on this plan</h2>\n<ul class="notes">\n{lis}\n'
        "</ul></section>"
    )


def _sizes_text(summary: dict[str, object]) -> str:
    """``sized by the plan: site 120 MW, ...`` for extendable mining sites, else ``""``
    (where they are: the network map draws each site at its planned size)."""
    sizes = summary.get("mining_p_nom_opt_by_site")
    if not isinstance(sizes, dict) or not sizes:
        return ""
    parts = ", ".join(f"{k} {float(v):,.1f} MW" for k, v in sizes.items())
    return f"sized by the plan: {parts}, "


def render_report(t: PlanTables, out_html: Path, png_dir: Path | None = None) -> list[Path]:
    """Draw every chart and write the HTML report (and PNGs).

    Parameters
    ----------
    t:
        The plan, read by :func:`service.report.plandir.read_plan_dir`.
    out_html:
        The HTML file to write (its folder is created).
    png_dir:
        Where to write one ``KEY.png`` per chart; ``None``: no PNGs.

    Returns
    -------
    list[pathlib.Path]
        The files written, the HTML first.

    Raises
    ------
    OSError
        A file cannot be written.
    """
    charts = draw_all(t)
    s = t.summary
    head = (
        f"status {s.get('status')}, mode {s.get('mode')}, {len(t.snapshots)} snapshots, "
        f"{len(t.mining_sites)} mining sites, objective {float(s.get('objective', 0.0)):,.6g}, "
        + _sizes_text(s)
        + (
            f"max line loading {float(loading):.3f}"
            if (loading := s.get("max_line_loading")) is not None
            else "no rated lines"  # MATPOWER rateA = 0: unrated, not 0 % loaded
        )
    )
    sections = [_section(c, t) for c in charts]
    keys = [c.key for c in charts]
    if SOURCES_KEY not in keys:
        # where the chart would be: after the mining load
        at = next((i + 1 for i, c in enumerate(charts) if c.key == "mining"), len(sections))
        sections.insert(at, _sources_absent())
    if MAP_KEY not in keys:
        why = (
            "No network map: this plan directory has no network-buses.csv and "
            "network-branches.csv (it was written before plans carried their network); "
            "plan again with spillway plan --out to get it."
        )
        sections.insert(0, _absent(MAP_KEY, MAP_TITLE, why))
    if CHANGE_KEY not in keys:
        at = next((i + 1 for i, c in enumerate(sections) if f'id="{HEATMAP_KEY}"' in c), 0)
        why = (
            "No before/after view of the branches: this plan directory has no "
            "lines-loading_base.csv (it was written before plans kept the loading without "
            "mining); plan again with spillway plan --out to get it."
        )
        sections.insert(at, _absent(CHANGE_KEY, "Branches mining loads", why))
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>Spillway plan report: {html.escape(t.path.name)}</title>\n"
        f"<style>{_CSS}</style></head><body>\n"
        f"<h1>Spillway plan report: {html.escape(t.path.name)}</h1>\n"
        f"<p>{html.escape(head)}</p>\n<h2>Totals</h2>\n{_totals_table(t)}\n{_notes(t)}\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )
    out_html.parent.mkdir(parents=True, exist_ok=True)
    out_html.write_text(page, encoding="utf-8")
    written = [out_html]
    if png_dir is not None:
        png_dir.mkdir(parents=True, exist_ok=True)
        for c in charts:
            path = png_dir / f"{c.key}.png"
            FigureCanvasAgg(c.figure)
            c.figure.savefig(path, format="png", dpi=PNG_DPI)
            written.append(path)
    return written
