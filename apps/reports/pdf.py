"""The report PDF (reportlab platypus), laid out for A4 printing, with a Chinese TrueType font
embedded as a subset so it renders on machines without Chinese fonts, and charts drawn
server-side with reportlab graphics.

The font comes from the `paperang-p2-fonts-cjk` package (WenQuanYi Micro Hei, TrueType outlines
in a .ttc; reportlab's built-in CID fonts such as STSong-Light are never embedded), with
Debian's fonts-wqy-microhei as a fallback, or REPORT_FONT_PATH when set.
"""

from __future__ import annotations

import io
import os
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from apps.dashboards.sections import Section

FONT = "ReportCJK"
RED = colors.HexColor("#c8161d")
PALETTE = [
    colors.HexColor(c)
    for c in (
        "#c8161d",
        "#e8912d",
        "#2f6fb0",
        "#3a9d5d",
        "#8a5cc2",
        "#7a7a7a",
        "#d4b106",
        "#17a2b8",
        "#a0522d",
    )
]
NUMERALS = "一二三四五六七八九十"


def numeral(n: int) -> str:
    """Chinese section numbers 一 … 九十九 (1-based)."""
    if n <= 10:
        return NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return (NUMERALS[tens - 1] if tens > 1 else "") + "十" + (NUMERALS[ones - 1] if ones else "")


def wrap_label(text: str, width: int = 9, lines: int = 2) -> str:
    """A category label broken into at most `lines` lines of `width` characters (an ellipsis
    marks what is left out), so long org names are not cut off at the chart's edge."""
    parts = [text[i : i + width] for i in range(0, len(text), width)] or [""]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: width - 1] + "…"
    return "\n".join(parts)


def font_path() -> Path:
    candidates = []
    if os.environ.get("REPORT_FONT_PATH"):
        candidates.append(Path(os.environ["REPORT_FONT_PATH"]))
    try:
        import paperang_p2_fonts_cjk

        candidates.append(
            Path(paperang_p2_fonts_cjk.__file__).parent / "fonts" / "wqy-microhei.ttc"
        )
    except ImportError:
        pass
    candidates.append(Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"))
    for path in candidates:
        if path.exists():
            return path
    raise RuntimeError("No Chinese TrueType font found: pip install paperang-p2-fonts-cjk")


@cache
def register_font() -> str:
    path = font_path()
    kwargs = {"subfontIndex": 0} if path.suffix.lower() == ".ttc" else {}
    pdfmetrics.registerFont(TTFont(FONT, str(path), **kwargs))
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    register_font()
    return {
        "title": ParagraphStyle(
            "title", fontName=FONT, fontSize=20, leading=28, alignment=TA_CENTER, textColor=RED
        ),
        "subtitle": ParagraphStyle(
            "subtitle", fontName=FONT, fontSize=13, leading=20, alignment=TA_CENTER
        ),
        "meta": ParagraphStyle(
            "meta",
            fontName=FONT,
            fontSize=9,
            leading=13,
            alignment=TA_CENTER,
            textColor=colors.grey,
        ),
        "h1": ParagraphStyle(
            "h1", fontName=FONT, fontSize=14, leading=22, spaceBefore=10, spaceAfter=4
        ),
        "body": ParagraphStyle(
            "body", fontName=FONT, fontSize=10.5, leading=17, firstLineIndent=21
        ),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=12),
        "small": ParagraphStyle("small", fontName=FONT, fontSize=7.5, leading=10),
        "note": ParagraphStyle(
            "note", fontName=FONT, fontSize=8.5, leading=12, textColor=colors.grey
        ),
    }


def _chart(section: Section, width: float) -> Drawing | None:
    spec = section.chart_spec()
    labels = spec["labels"]
    series = spec["series"]
    if not labels or not any(any(v for v in s["data"]) for s in series):
        return None
    if section.chart == "pie":
        d = Drawing(width, 150)
        pie = Pie()
        pie.x, pie.y, pie.width, pie.height = width / 2 - 60, 15, 120, 120
        pie.data = [v or 0 for v in series[0]["data"]]
        total = sum(pie.data) or 1
        pie.labels = [
            f"{label} {v}（{100 * v / total:.1f}%）"
            for label, v in zip(labels, pie.data, strict=False)
        ]
        pie.simpleLabels = 1
        pie.sideLabels = 1
        for i in range(len(pie.data)):
            pie.slices[i].fillColor = PALETTE[i % len(PALETTE)]
            pie.slices[i].fontName = FONT
            pie.slices[i].fontSize = 8
        d.add(pie)
        return d
    horizontal = section.chart in ("hbar", "stack")
    palette = [colors.HexColor(c) for c in spec.get("colors", [])] or PALETTE
    n = len(labels)
    height = max(120, 22 * n + 40) if horizontal else 170
    d = Drawing(width, height)
    chart = HorizontalBarChart() if horizontal else VerticalBarChart()
    chart.x = 110 if horizontal else 35
    chart.y = 20 if horizontal else 45
    chart.width = width - chart.x - 20
    chart.height = height - chart.y - 15
    chart.data = [[v or 0 for v in s["data"]] for s in series]
    if section.chart == "stack":
        chart.categoryAxis.style = "stacked"
    chart.categoryAxis.categoryNames = [
        wrap_label(label) if horizontal or n <= 6 else label[:10] for label in labels
    ]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7.5
    if horizontal:
        chart.categoryAxis.reverseDirection = 1
    else:
        chart.categoryAxis.labels.angle = 30 if n > 6 else 0
        chart.categoryAxis.labels.dy = -8 if n > 6 else -2
        chart.categoryAxis.labels.boxAnchor = "ne" if n > 6 else "n"
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7.5
    chart.valueAxis.valueMin = 0
    peak = (
        max(
            (sum(col) if section.chart == "stack" else max(col))
            for col in zip(*chart.data, strict=False)
        )
        or 1
    )
    chart.valueAxis.valueMax = peak * 1.15
    for i in range(len(series)):
        chart.bars[i].fillColor = palette[i % len(palette)]
        chart.bars[i].strokeColor = None
    if section.chart != "stack":
        chart.barLabelFormat = "%d"
        chart.barLabels.fontName = FONT
        chart.barLabels.fontSize = 7
        chart.barLabels.nudge = 7
    d.add(chart)
    if len(series) > 1:
        x = chart.x
        for i, s in enumerate(series):
            d.add(
                String(
                    x,
                    height - 10,
                    "■ " + s["name"],
                    fontName=FONT,
                    fontSize=8,
                    fillColor=palette[i % len(palette)],
                )
            )
            x += 16 + 8.5 * len(s["name"])
    return d


def _column_widths(section: Section, width: float) -> list[float]:
    """Widths in proportion to each column's longest text (capped, so one long title does not
    squeeze the rest), never below 11 mm."""
    weights = []
    for i, column in enumerate(section.columns):
        longest = max(
            [len(str(column)) * 0.8] + [len(str(r[i])) for r in section.rows if i < len(r)]
        )
        weights.append(min(max(longest, 3), 22))
    total = sum(weights) or 1
    widths = [max(11 * mm, width * w / total) for w in weights]
    scale = width / sum(widths)
    return [w * scale for w in widths]


def _para(value, style) -> Paragraph:
    """A paragraph of plain text: reportlab parses its input as markup, so user text (meeting
    titles, org names, reasons) is escaped; a stray `<` would otherwise break the build."""
    return Paragraph(escape(str(value)), style)


def _table(section: Section, styles, width: float) -> Table:
    cell = styles["cell"] if len(section.columns) <= 7 else styles["small"]
    head = [_para(c, cell) for c in section.columns]
    body = [[_para("—" if c is None else c, cell) for c in row] for row in section.rows]
    if not body:
        body = [[Paragraph("暂无数据", cell)] + [""] * (len(section.columns) - 1)]
    table = Table([head, *body], colWidths=_column_widths(section, width), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3d6d7")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f7f7f7")]),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def report_pdf(
    *, title: str, subtitle: str, meta: str, summary: str, sections: list[Section]
) -> bytes:
    styles = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=20 * mm,
        bottomMargin=18 * mm,
        title=f"{title} {subtitle}",
        author="基层党建工作管理平台",
    )
    width = doc.width

    def footer(canvas, document):
        canvas.saveState()
        canvas.setFont(FONT, 8.5)
        canvas.setFillColor(colors.grey)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"— {document.page} —")
        canvas.drawRightString(A4[0] - 22 * mm, A4[1] - 12 * mm, f"{title} · {subtitle}")
        canvas.restoreState()

    story = [
        _para(title, styles["title"]),
        _para(subtitle, styles["subtitle"]),
        Spacer(1, 3 * mm),
        _para(meta, styles["meta"]),
        Spacer(1, 6 * mm),
        _para(summary, styles["body"]),
    ]
    for index, section in enumerate(sections):
        block = [_para(f"{numeral(index + 1)}、{section.title}", styles["h1"])]
        if section.note:
            block.append(_para(section.note, styles["note"]))
        chart = _chart(section, width) if section.chart else None
        if chart is not None:
            block.append(chart)
            block.append(Spacer(1, 2 * mm))
        table = _table(section, styles, width)
        if len(section.rows) <= 12:
            story.append(KeepTogether([*block, table]))
        else:
            story.extend([*block, table])
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
