"""The executive report: one self-contained HTML file with plotly charts of the KPIs and
competitor trends. plotly.js is inlined once (no CDN): the file opens offline, from the
Dagster UI's path link, a mail attachment or a file share alike."""

from __future__ import annotations

import html
from collections.abc import Callable, Hashable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

CHART_CONFIG = {"displaylogo": False, "responsive": True}
PALETTE = ["#1f4e79", "#c0504d", "#4f81bd", "#9bbb59", "#8064a2", "#f79646", "#4bacc6", "#7f7f7f"]


def _money(v: Any) -> str:
    return "n/a" if _missing(v) else f"${float(v):,.0f}"


def _pct(v: Any) -> str:
    return "n/a" if _missing(v) else f"{float(v) * 100:.1f}%"


def _num(v: Any, digits: int = 1) -> str:
    return "n/a" if _missing(v) else f"{float(v):,.{digits}f}"


def _missing(v: Any) -> bool:
    return v is None or bool(pd.isna(v))


# (column, label, formatter, what the number is)
TILES: list[tuple[str, str, Callable[[Any], str], str]] = [
    ("revenue_mtd", "Revenue MTD", _money, "closed-won amounts this month"),
    ("pipeline_value", "Pipeline (weighted)", _money, "open deals x stage probability"),
    ("customer_health_score", "Customer health", _num, "0-100, accounts with a call in 90 days"),
    ("competitive_win_rate", "Competitive win rate", _pct, "won / closed, competitor on a call"),
    (
        "team_productivity_score",
        "Team productivity",
        lambda v: _num(v, 2),
        "issues + PRs per person, 7 days",
    ),
    (
        "llm_cost_efficiency",
        "LLM cost efficiency",
        lambda v: _num(v, 1),
        "requests per USD (n/a: no LLM)",
    ),
]


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01},
        height=height,
        margin={"l": 60, "r": 20, "t": 60, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def _empty_note(fig: go.Figure, empty: bool) -> go.Figure:
    if empty:
        fig.add_annotation(
            text="No data yet", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5
        )
    return fig


def revenue_chart(kpis: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    x: pd.Series | list[Any] = kpis["kpi_date"] if len(kpis) else []
    for col, name, dash in (
        ("revenue_mtd", "Revenue MTD", "solid"),
        ("pipeline_value", "Pipeline (weighted)", "solid"),
        ("pipeline_value_unweighted", "Pipeline (unweighted)", "dot"),
    ):
        fig.add_trace(
            go.Scatter(
                x=x, y=kpis[col] if len(kpis) else [], name=name, mode="lines", line={"dash": dash}
            )
        )
    fig.update_yaxes(tickprefix="$", separatethousands=True)
    return _empty_note(_layout(fig, "Revenue and pipeline"), kpis.empty)


def health_chart(kpis: pd.DataFrame) -> go.Figure:
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=("Customer health (0-100)", "Competitive win rate", "Team productivity"),
    )
    x: pd.Series | list[Any] = kpis["kpi_date"] if len(kpis) else []
    for row, col in enumerate(
        ("customer_health_score", "competitive_win_rate", "team_productivity_score"), start=1
    ):
        fig.add_trace(
            go.Scatter(
                x=x, y=kpis[col] if len(kpis) else [], mode="lines+markers", showlegend=False
            ),
            row=row,
            col=1,
        )
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    return _empty_note(
        _layout(fig, "Customer health, competitive wins, productivity", 620), kpis.empty
    )


def calls_chart(dashboard: pd.DataFrame) -> go.Figure:
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    x: pd.Series | list[Any] = dashboard["activity_date"] if len(dashboard) else []
    fig.add_trace(go.Bar(x=x, y=dashboard["total_calls"] if len(dashboard) else [], name="Calls"))
    fig.add_trace(
        go.Bar(
            x=x, y=dashboard["unique_accounts"] if len(dashboard) else [], name="Unique accounts"
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=dashboard["avg_sentiment"] if len(dashboard) else [],
            name="Average sentiment",
            mode="lines+markers",
            connectgaps=False,
        ),
        secondary_y=True,
    )
    fig.update_yaxes(title_text="calls / accounts", secondary_y=False)
    fig.update_yaxes(
        title_text="sentiment", range=[-1, 1], dtick=0.5, showgrid=False, secondary_y=True
    )
    return _empty_note(_layout(fig, "Calls and sentiment, last 30 days"), dashboard.empty)


def competitor_mentions_chart(stats: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for i, (competitor, rows) in enumerate(
        stats.groupby("competitor", sort=True) if len(stats) else []
    ):
        fig.add_trace(
            go.Bar(
                x=rows["day"],
                y=rows["mentions"],
                name=str(competitor),
                marker_color=PALETTE[i % len(PALETTE)],
            )
        )
    fig.update_layout(barmode="stack")
    return _empty_note(_layout(fig, "Competitor mentions per day, last 30 days"), stats.empty)


def threat_heatmap(stats: pd.DataFrame) -> go.Figure:
    if len(stats):
        grid = stats.pivot_table(
            index="competitor", columns="day", values="max_threat", aggfunc="max"
        )
        fig = go.Figure(
            go.Heatmap(
                z=grid.values,
                x=[str(c) for c in grid.columns],
                y=list(grid.index),
                zmin=1,
                zmax=5,
                colorscale="OrRd",
                colorbar={"title": "threat"},
                hoverongaps=False,
            )
        )
    else:
        fig = go.Figure(go.Heatmap(z=[[None]]))
    return _empty_note(_layout(fig, "Highest competitor threat level per day (1-5)"), stats.empty)


def _tiles(latest: Mapping[Hashable, Any]) -> str:
    cards = []
    for col, label, fmt, note in TILES:
        cards.append(
            '<div class="tile">'
            f'<div class="label">{html.escape(label)}</div>'
            f'<div class="value">{html.escape(fmt(latest.get(col)))}</div>'
            f'<div class="note">{html.escape(note)}</div>'
            "</div>"
        )
    return '<div class="tiles">' + "".join(cards) + "</div>"


def _competitor_table(stats: pd.DataFrame) -> str:
    if stats.empty:
        return "<p>No competitor mentions in the last 30 days.</p>"
    summary = (
        stats.groupby("competitor")
        .agg(
            mentions=("mentions", "sum"), max_threat=("max_threat", "max"), days=("day", "nunique")
        )
        .sort_values(["mentions", "max_threat"], ascending=False)
    )
    rows = "".join(
        f"<tr><td>{html.escape(str(c))}</td><td>{int(r.mentions)}</td>"
        f"<td>{int(r.max_threat)}</td><td>{int(r.days)}</td></tr>"
        for c, r in summary.iterrows()
    )
    return (
        "<table><thead><tr><th>Competitor</th><th>Mentions</th><th>Highest threat</th>"
        f"<th>Days mentioned</th></tr></thead><tbody>{rows}</tbody></table>"
    )


STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 24px auto; max-width: 1280px; color: #1d2733; background: #f6f8fa; }
h1 { margin-bottom: 4px; } .meta { color: #5b6773; margin-top: 0; }
.tiles { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; margin: 16px 0; }
.tile { background: #fff; border: 1px solid #dde3e9; border-radius: 8px; padding: 12px 16px; }
.tile .label { font-size: 13px; color: #5b6773; text-transform: uppercase; }
.tile .value { font-size: 28px; font-weight: 600; margin: 4px 0; }
.tile .note { font-size: 12px; color: #7a8691; }
.chart { background: #fff; border: 1px solid #dde3e9; border-radius: 8px; margin: 12px 0;
         padding: 4px; }
table { border-collapse: collapse; background: #fff; width: 100%; }
th, td { border: 1px solid #dde3e9; padding: 6px 10px; text-align: left; }
"""


def render_report(
    kpis: pd.DataFrame,
    dashboard: pd.DataFrame,
    competitor_stats: pd.DataFrame,
    generated_at: datetime,
    title: str = "Sophia executive report",
) -> str:
    """The report as one HTML document.

    ``kpis``: kpi_rollups rows (oldest first); ``dashboard``: the dashboard's 30 daily
    rows; ``competitor_stats``: competitor, day, mentions, max_threat."""
    if len(kpis):
        # Warehouses hand DATE columns back as timestamps: show days, not midnights.
        kpis = kpis.assign(kpi_date=pd.to_datetime(kpis["kpi_date"]).dt.date).sort_values(
            "kpi_date"
        )
    latest = kpis.iloc[-1].to_dict() if len(kpis) else {}
    as_of = latest.get("kpi_date", "no rollups yet")
    figures = [
        revenue_chart(kpis),
        health_chart(kpis),
        calls_chart(dashboard),
        competitor_mentions_chart(competitor_stats),
        threat_heatmap(competitor_stats),
    ]
    charts = "".join(
        '<div class="chart">'
        # The first chart carries plotly.js inline; the others reuse it.
        + fig.to_html(full_html=False, include_plotlyjs=(i == 0), config=CHART_CONFIG)
        + "</div>"
        for i, fig in enumerate(figures)
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f'<p class="meta">KPIs as of {html.escape(str(as_of))} &middot; generated '
        f"{html.escape(generated_at.strftime('%Y-%m-%d %H:%M UTC'))}</p>"
        f"{_tiles(latest)}{charts}<h2>Competitors, last 30 days</h2>"
        f"{_competitor_table(competitor_stats)}</body></html>\n"
    )
