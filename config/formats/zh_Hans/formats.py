"""Project overrides of Django's zh-hans formats (the rest falls back to Django's locale).

ISO first: a widget renders a value with the first input format, and an <input type="date">
only accepts YYYY-MM-DD — with Django's "%Y/%m/%d" first, a form re-shown after an error
would come back with its dates blank. The Chinese forms stay accepted."""

DATE_INPUT_FORMATS = [
    "%Y-%m-%d",  # 2026-06-15 (what <input type="date"> sends and shows)
    "%Y/%m/%d",  # 2026/06/15
    "%Y年%m月%d日",  # 2026年06月15日
]
TIME_INPUT_FORMATS = ["%H:%M", "%H:%M:%S", "%H:%M:%S.%f"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%dT%H:%M",  # <input type="datetime-local">
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
]
