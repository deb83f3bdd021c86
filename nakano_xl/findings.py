"""Findings: every problem found in what departments send back, as one typed value.

Every step yields findings and carries on; they end in the 確認事項 sheet and
``findings.json``. Codes are stable (tests and ``docs/findings.md`` key on them); the
Japanese wording of each code lives here, once, so a problem always reads the same.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any, Iterable

from .xlsx.cells import split_a1


class Severity(enum.IntEnum):
    INFO = 0  # 情報
    WARNING = 1  # 警告
    ERROR = 2  # エラー

    @property
    def key(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # stable id, e.g. "status.lookalike"
    severity: Severity
    message: str  # Japanese: what was found, what was done, what to do
    file: str | None = None  # path relative to the inbox, as it arrived
    sheet: str | None = None
    cell: str | None = None  # A1 on the sheet as Excel shows it
    item_id: str | None = None
    department: str | None = None
    value: str | None = None  # what was there; look-alikes spelled with U+XXXX

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["severity"] = self.severity.key
        return d


# code: (severity, message template). Templates use str.format with the keyword
# arguments given to `finding()`.
CATALOGUE: dict[str, tuple[Severity, str]] = {
    # --- the plan master (init, distribute) ---
    "plan.group_department": (
        Severity.INFO,
        "所管課「{group}」は複数の課をまとめた表記のため、この行の回答票には含めていません（{items}）。",
    ),
    "plan.no_department": (
        Severity.WARNING,
        "事業内容「{content}」には回答する所管課がありません。どの課にも配付されません。",
    ),
    # --- the plan master against last year's (distribute after rollover) ---
    "plan.item_added": (
        Severity.INFO,
        "前年度の計画マスタにない事業内容「{content}」が追加されています。",
    ),
    "plan.item_retired": (
        Severity.INFO,
        "前年度の事業内容「{content}」は今年度の計画マスタにありません（終了した事業として扱います）。",
    ),
    "plan.item_changed": (
        Severity.INFO,
        "事業内容「{content}」の{fields}が前年度から変わっています。",
    ),
    "rollover.open_errors": (
        Severity.WARNING,
        "{year}の取りまとめにはエラーが{count}件残っています。前年度の回答として引き継いだ内容を確認してください。",
    ),
    # --- 再掲 links in the plan master (init, distribute, consolidate) ---
    "reprint.missing_original": (
        Severity.ERROR,
        "再掲行「{content}」の再掲元（項目ID {value}）が計画マスタにありません。計画マスタの再掲元を直してください。",
    ),
    "reprint.cycle": (
        Severity.ERROR,
        "再掲元をたどると元に戻ってしまいます（{path}）。計画マスタの再掲元を直してください。",
    ),
    "reprint.chain": (
        Severity.INFO,
        "再掲元 {value} も再掲行のため、元の行 {root} にたどって扱います（{path}）。",
    ),
    "reprint.text_mismatch": (
        Severity.WARNING,
        "再掲行の事業内容「{text}」が再掲元（{original_id}）の「{original}」と一致しません。どちらが正しいか確認してください。",
    ),
    "reprint.marker_mismatch": (
        Severity.WARNING,
        "再掲の表示「{value}再掲」が再掲元（{original_id}）の実施内容番号 {code} と一致しません。",
    ),
    # --- intake: one file ---
    "file.unreadable": (
        Severity.ERROR,
        "ファイルを読み取れませんでした（{reason}）。このファイルの回答は取り込んでいません。",
    ),
    "file.not_xlsx": (
        Severity.ERROR,
        "Excelブック（.xlsx）ではありません（{reason}）。配付した回答票に記入し、.xlsx のまま返送するよう依頼してください。",
    ),
    "file.corrupt": (
        Severity.ERROR,
        "ファイルが壊れているため読み取れません（{reason}）。もう一度保存して送り直すよう依頼してください。",
    ),
    "file.too_large": (
        Severity.ERROR,
        "{reason}。読み取っていません（上限は作業フォルダの設定 [limits] で変えられます）。",
    ),
    "file.bomb": (
        Severity.ERROR,
        "{reason}。圧縮爆弾の疑いがあるため、展開せずに読み取りを中止しました。",
    ),
    "file.macro": (
        Severity.ERROR,
        "{reason}。マクロを含まない「Excel ブック (.xlsx)」で保存し直すよう依頼してください。",
    ),
    "file.strict": (
        Severity.ERROR,
        "{reason}。",
    ),
    "file.unsafe_xml": (
        Severity.ERROR,
        "{reason}。このファイルは読み取っていません。",
    ),
    "file.too_many_rows": (
        Severity.ERROR,
        "シート「{sheet}」の行数または列数が上限を超えています（{reason}）。上限までの内容は読みましたが、超えた部分は読み取っていません。",
    ),
    "file.ignored": (
        Severity.INFO,
        "{reason}のため、読み飛ばしました。",
    ),
    "identity.missing": (
        Severity.ERROR,
        "配付した回答票の管理情報が見つかりません。配付したファイルに直接記入して返送するよう依頼してください。",
    ),
    "identity.bad_signature": (
        Severity.ERROR,
        "管理情報の署名が一致しません（管理情報が書き換えられたか、別の作業フォルダで配付したファイルです）。回答は取り込んでいません。",
    ),
    "identity.other_year": (
        Severity.ERROR,
        "{found}の回答票です（この作業フォルダは{expected}）。回答は取り込んでいません。",
    ),
    "identity.other_distribution": (
        Severity.ERROR,
        "別の配付（配付ID {found}）の回答票です。最新の配付は {expected} です。回答は取り込んでいません。",
    ),
    "identity.other_template": (
        Severity.ERROR,
        "様式の版が異なる回答票です（{found}、現在は {expected}）。回答は取り込んでいません。",
    ),
    "identity.unknown_department": (
        Severity.ERROR,
        "所管課「{department}」はこの計画で回答する課ではありません。回答は取り込んでいません。",
    ),
    "identity.renamed": (
        Severity.INFO,
        "ファイル名は「{name_hint}」ですが、管理情報では{department}の回答票です。{department}の回答として扱いました。",
    ),
    "submission.superseded": (
        Severity.WARNING,
        "{department}の回答票が複数あります。保存日時が新しい「{winner}」を採用し、このファイルは使っていません。",
    ),
    "submission.missing": (
        Severity.WARNING,
        "{department}からの回答票がまだ届いていません（{count}行）。",
    ),
    # --- structure of the answer sheet ---
    "sheet.missing": (
        Severity.ERROR,
        "回答シート「{sheet}」が見つかりません。回答は取り込んでいません。",
    ),
    "row.missing": (
        Severity.ERROR,
        "事業内容「{content}」の行が見つかりません（削除された可能性があります）。この行は未回答として扱います。",
    ),
    "row.unknown": (
        Severity.ERROR,
        "項目ID「{value}」の行はこの課に割り当てられていません。この行の記入内容は取り込んでいません。",
    ),
    "row.duplicate": (
        Severity.ERROR,
        "項目ID「{value}」の行が複数あります。最初の行（{first}）を採用し、この行は取り込んでいません。",
    ),
    # --- merging shared rows ---
    "merge.conflict": (
        Severity.WARNING,
        "複数の課で回答が異なります（{answers}）。{outcome}",
    ),
    "merge.waiting": (
        Severity.INFO,
        "複数の課で回答する行です。{answered}の回答は届いていますが、{department}の回答がまだです。",
    ),
    # --- values ---
    "status.missing": (
        Severity.WARNING,
        "進捗状況が記入されていません。",
    ),
    "status.lookalike": (
        Severity.WARNING,
        "進捗状況「{value}」を「{mark}」として読み替えました。",
    ),
    "status.invalid": (
        Severity.ERROR,
        "進捗状況「{value}」は ◎ ○ △ × のいずれでもありません。この行は未回答として扱います。",
    ),
    "reason.missing": (
        Severity.ERROR,
        "進捗状況が「{mark}」のため、スケジュールの変更理由を記入してください。",
    ),
    "reason.recommended": (
        Severity.WARNING,
        "進捗状況が「{mark}」です。スケジュールの変更理由（遅れている理由）の記入をお願いします。",
    ),
}


def finding(code: str, /, *, file: str | None = None, sheet: str | None = None,
            cell: str | None = None, item_id: str | None = None,
            department: str | None = None, value: str | None = None,
            severity: Severity | None = None, **words: Any) -> Finding:
    """Build a finding from the catalogue: ``finding("status.invalid", value="▲", cell="C5")``."""
    default, template = CATALOGUE[code]
    message = template.format(value=value, department=department, item_id=item_id, **words)
    return Finding(code, default if severity is None else severity, message, file, sheet, cell,
                   item_id, department, value)


def sort_key(f: Finding) -> tuple[Any, ...]:
    """File, sheet, cell (row then column, not as text), code; absent fields first."""
    row, col = split_a1(f.cell) if f.cell else (0, 0)
    return (f.file or "", f.sheet or "", row, col, f.code, f.item_id or "", f.message)


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=sort_key)


def count(findings: Iterable[Finding], severity: Severity) -> int:
    return sum(1 for f in findings if f.severity is severity)


def exit_code(findings: Iterable[Finding]) -> int:
    """0 = done, no errors (warnings allowed); 1 = done, but error findings remain."""
    return 1 if any(f.severity is Severity.ERROR for f in findings) else 0


def spell(text: str) -> str:
    """A typed value with the code points of the look-alike characters, for messages.

    〇 and ○ look the same on screen; ``spell("〇")`` gives ``〇 (U+3007)``.
    """
    if not text:
        return "（空欄）"
    points = " ".join(f"U+{ord(ch):04X}" for ch in text[:8])
    return f"{text} ({points}{' …' if len(text) > 8 else ''})"
