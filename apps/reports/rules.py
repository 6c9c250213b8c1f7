from apps.core.rules import register

register(
    "reports.build_day",
    5,
    "季度报告自动生成日",
    "每季度结束后，于下一季度第一个月的第几天自动生成上一季度的报告（默认5日）。",
    min_value=1,
    max_value=28,
)
