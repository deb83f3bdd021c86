"""A number as the department saw it in its cell: the cell's number format applied.

A department types into text cells, but a paste or a program can leave a number or a date
in an answer cell. The report shows what the department saw, not the stored double:
``46`` not ``46.0``, ``2022/4/1`` not ``44652``, ``令和4年4月1日`` for a 和暦 format.

This covers the formats people use in Japanese offices — General, 0 / #,##0 with decimals,
percent, dates and times including 和暦 (g/gg/ggg, e) — and falls back to General for the
rest (fractions, scientific, conditions), which keeps every digit.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

# Built-in number formats (ECMA-376 §18.8.30) as a Japanese-locale Excel shows them;
# 14 and 22 follow the system's short date, which is yyyy/m/d in Japan.
BUILTIN = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%",
    14: "yyyy/m/d", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "yyyy/m/d h:mm",
    27: '[$-411]ge.m.d', 28: '[$-411]ggge"年"m"月"d"日"', 29: '[$-411]ggge"年"m"月"d"日"',
    30: "m/d/yy", 31: 'yyyy"年"m"月"d"日"', 32: 'h"時"mm"分"', 33: 'h"時"mm"分"ss"秒"',
    34: 'yyyy"年"m"月"', 35: 'm"月"d"日"', 36: '[$-411]ge.m.d', 37: "#,##0 ;(#,##0)",
    38: "#,##0 ;[Red](#,##0)", 39: "#,##0.00;(#,##0.00)", 40: "#,##0.00;[Red](#,##0.00)",
    45: "mm:ss", 46: "[h]:mm:ss", 47: "mm:ss.0", 49: "@",
    50: '[$-411]ge.m.d', 51: '[$-411]ggge"年"m"月"d"日"', 52: 'yyyy"年"m"月"', 53: 'm"月"d"日"',
    54: '[$-411]ggge"年"m"月"d"日"', 55: 'yyyy"年"m"月"', 56: 'm"月"d"日"',
    57: '[$-411]ge.m.d', 58: '[$-411]ggge"年"m"月"d"日"',
}

_TOKEN = re.compile(r'"[^"]*"|\\.|_.|\*.|\[[^\]]*\]|AM/PM|A/P|[yY]+|[mM]+|[dD]+|[hH]+|[sS]+|[eE]+|[gG]+|[aA]{3,4}|0+|#+|\.|,|%|.',
                    re.DOTALL)
_DATE_LETTERS = set("ymdhsegYMDHSEG")

# Japanese eras: (first day, name, initial). Dates before Meiji fall back to the Gregorian year.
ERAS = [
    (dt.date(2019, 5, 1), "令和", "R"),
    (dt.date(1989, 1, 8), "平成", "H"),
    (dt.date(1926, 12, 25), "昭和", "S"),
    (dt.date(1912, 7, 30), "大正", "T"),
    (dt.date(1868, 1, 1), "明治", "M"),
]
WEEKDAYS = "月火水木金土日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_code(num_fmt_id: int, custom: dict[int, str]) -> str:
    return custom.get(num_fmt_id) or BUILTIN.get(num_fmt_id, "General")


def _tokens(code: str) -> list[str]:
    return _TOKEN.findall(code)


def is_date_format(code: str) -> bool:
    """A format that shows a date or a time (quoted text and [colour] blocks do not count)."""
    first = _section(code, 1.0)
    return any(t[0] in _DATE_LETTERS and not t.startswith(("[", '"', "\\")) for t in _tokens(first)
               if t not in ("General",)) and "General" not in first


def _sections(code: str) -> list[str]:
    """``pos;neg;zero;text`` split on the semicolons outside quotes."""
    parts, current, quoted = [], "", False
    for ch in code:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def _section(code: str, number: float) -> str:
    return _pick(code, number)[0]


def _pick(code: str, number: float) -> tuple[str, bool]:
    """The section that applies to ``number`` and whether it shows the sign itself."""
    parts = _sections(code)
    if number < 0 and len(parts) > 1 and parts[1]:
        return parts[1], True
    if number == 0 and len(parts) > 2 and parts[2]:
        return parts[2], False
    return parts[0], False


def render_general(number: float) -> str:
    """A number as Excel's General format shows it in the formula bar: ``46`` not ``46.0``."""
    if number != number or number in (float("inf"), float("-inf")):
        return str(number)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.15g}"


def render(number: float, code: str, *, date1904: bool = False) -> str:
    """``number`` shown through the format ``code``; General for what is not understood."""
    try:
        if code in ("", "General", "@"):
            return render_general(number)
        if is_date_format(code):
            return _render_date(number, _section(code, number), date1904)
        return _render_number(number, code)
    except (ValueError, OverflowError, IndexError):
        return render_general(number)


def to_datetime(serial: float, date1904: bool) -> dt.datetime:
    base = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    # Whole seconds, as Excel rounds them for display.
    return base + dt.timedelta(seconds=round(serial * 86400))


def _era(day: dt.date) -> tuple[str, str, int]:
    for start, name, initial in ERAS:
        if day >= start:
            return name, initial, day.year - start.year + 1
    return "", "", day.year


def _render_date(serial: float, code: str, date1904: bool) -> str:
    if serial < 0:
        raise ValueError("negative date")
    moment = to_datetime(serial, date1904)
    # [h] [mm] [ss] are elapsed times; other [...] blocks are colours and locales.
    tokens = [t for t in _tokens(code) if not (t.startswith("[") and not t.lower().startswith(("[h", "[m", "[s")))]
    has_ampm = any(t.upper() in ("AM/PM", "A/P") for t in tokens)
    out: list[str] = []
    letters = [(i, t[0].lower()) for i, t in enumerate(tokens) if t[0].lower() in "ymdhs" or t[0] == "["]
    for i, tok in enumerate(tokens):
        low = tok.lower()
        kind = low[0]
        if tok.startswith('"'):
            out.append(tok[1:-1])
        elif tok.startswith("\\"):
            out.append(tok[1:])
        elif low.startswith("[h"):
            hours = round(serial * 86400) // 3600
            out.append(f"{hours:0{len(low) - 2}d}")
        elif low.startswith(("[m", "[s")):
            total = round(serial * 86400)
            out.append(str(total // 60 if low.startswith("[m") else total))
        elif kind == "y":
            out.append(f"{moment.year % 100:02d}" if len(low) <= 2 else str(moment.year))
        elif kind == "m":
            if _is_minute(i, letters):
                out.append(f"{moment.minute:0{min(len(low), 2)}d}")
            elif len(low) <= 2:
                out.append(f"{moment.month:0{len(low)}d}")
            else:
                out.append(MONTHS_EN[moment.month - 1] if len(low) == 3 else moment.strftime("%B"))
        elif kind == "d":
            if len(low) <= 2:
                out.append(f"{moment.day:0{len(low)}d}")
            else:
                out.append(WEEKDAYS_EN[moment.weekday()] if len(low) == 3 else moment.strftime("%A"))
        elif kind == "a" and low in ("aaa", "aaaa"):
            out.append(WEEKDAYS[moment.weekday()] + ("曜日" if low == "aaaa" else ""))
        elif kind == "h":
            hour = moment.hour % 12 or 12 if has_ampm else moment.hour
            out.append(f"{hour:0{min(len(low), 2)}d}")
        elif kind == "s":
            out.append(f"{moment.second:0{min(len(low), 2)}d}")
        elif low in ("am/pm", "a/p"):
            am = moment.hour < 12
            out.append(("AM" if am else "PM") if low == "am/pm" else ("A" if am else "P"))
        elif kind == "g":
            name, initial, _ = _era(moment.date())
            out.append(initial if len(low) == 1 else name[0] if len(low) == 2 else name)
        elif kind == "e":
            _, _, year = _era(moment.date())
            out.append(f"{year:0{min(len(low), 2)}d}")
        else:
            out.append(_literal(tok))
    return "".join(out)


def _is_minute(i: int, letters: list[tuple[int, str]]) -> bool:
    """``m`` means minutes right after an hour or right before a second, else months."""
    position = next(n for n, (j, _) in enumerate(letters) if j == i)
    before = letters[position - 1][1] if position > 0 else ""
    after = letters[position + 1][1] if position + 1 < len(letters) else ""
    return before in ("h", "[") or after == "s"


def _render_number(number: float, code: str) -> str:
    section, own_sign = _pick(code, number)
    tokens = _tokens(section)
    if any(t in ("E", "e", "?", "/") for t in tokens) or "E+" in section or "E-" in section:
        return render_general(number)
    value = abs(number)
    sign = "-" if number < 0 and not own_sign else ""
    if "%" in tokens:
        value *= 100
    dot = tokens.index(".") if "." in tokens else None
    decimals = sum(len(t) for t in tokens[dot + 1:] if t[0] in "0#") if dot is not None else 0
    int_tokens = tokens[:dot] if dot is not None else tokens
    if not any(t[0] in "0#" for t in tokens):
        return sign + "".join(_literal(t) for t in tokens) if tokens else render_general(number)
    grouping = "," in int_tokens and any(t[0] in "0#" for t in int_tokens)
    min_int = sum(len(t) for t in int_tokens if t[0] == "0")
    # Excel rounds halves away from zero (1234.5 → 1,235); Python's format rounds to even.
    exact = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    rendered = f"{exact:,.{decimals}f}" if grouping else f"{exact:.{decimals}f}"
    whole, _, frac = rendered.partition(".")
    if whole == "0" and min_int == 0:
        whole = ""
    elif min_int > len(whole.replace(",", "")):
        whole = whole.zfill(min_int)
    body = whole + ("." + frac if decimals else "")
    out: list[str] = []
    placed = False
    for t in tokens:
        if t[0] in "0#" or t in (".", ","):
            if not placed:
                out.append(body)
                placed = True
        else:
            out.append(_literal(t))
    return sign + "".join(out)


def _literal(token: str) -> str:
    if token.startswith('"'):
        return token[1:-1]
    if token.startswith("\\"):
        return token[1:]
    if token.startswith("_"):
        return " "  # Excel pads with the width of the next character
    if token.startswith(("[", "*")):
        return ""  # colours, locales and fill characters change how it looks, not what it says
    return token
