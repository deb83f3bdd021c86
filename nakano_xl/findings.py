"""Findings: every problem found in what departments send back, as one typed value.

Every step yields findings and carries on; they end in the 確認事項 sheet and
``findings.json``. Codes are stable (tests and ``docs/findings.md`` key on them); the
Japanese wording of each code lives here, once, so a problem always reads the same.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from .xlsx.cells import split_a1
from .xlsx.text import representable


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def key(self) -> str:
        """``error``, ``warning``, ``info``: in findings.json and ``status --json``."""
        return self.name.lower()

    @property
    def label(self) -> str:
        """エラー, 警告, 情報: wherever the coordinator reads a finding (terminal, 確認事項)."""
        return _LABELS[self]


_LABELS = {Severity.ERROR: "エラー", Severity.WARNING: "警告", Severity.INFO: "情報"}

# Characters of a typed text shown in a finding: enough to find the cell, not the whole text.
PREVIEW = 40


def preview(text: str, limit: int = PREVIEW) -> str:
    """A typed text short enough for a message, line breaks shown."""
    flat = text.replace("\r\n", "\n").replace("\n", "↵")
    return flat if len(flat) <= limit else flat[:limit] + "…"


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
    # --- intake: one file (xlsx/sniff.py, xlsx/zipguard.py, xlsx/package.py, intake/open.py) ---
    "file.unreadable": (
        Severity.ERROR,
        "ファイルを読み取れませんでした（{reason}）。このファイルの回答は取り込んでいません。",
    ),
    "file.empty": (
        Severity.ERROR,
        "空のファイル（0バイト）です。保存に失敗した可能性があります。回答票を保存し直して送り直すよう依頼してください。",
    ),
    "file.not_xlsx": (
        Severity.ERROR,
        "Excelブック（.xlsx）ではありません（{reason}）。配付した回答票に記入し、.xlsx のまま返送するよう依頼してください。",
    ),
    "file.encrypted": (
        Severity.ERROR,
        "パスワードで保護（暗号化）されたファイルのため読み取れません（{reason}）。パスワードを解除して保存し直し、送り直すよう依頼してください。",
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
    "file.external_link": (
        Severity.WARNING,
        "外部のファイルへのリンクがあります（{value}）。リンク先は開いていません。数式には保存されている計算結果を使います。",
    ),
    # --- intake: the inbox walk, before any file is read (intake/walk.py) ---
    "inbox.unreadable": (
        Severity.ERROR,
        "{what}を読み取れません（{reason}）。{effect}。読み取りの権限を確かめてください。",
    ),
    "inbox.not_a_file": (
        Severity.WARNING,
        "通常のファイルではありません（{what}）。{then}。",
    ),
    "inbox.symlink": (
        Severity.WARNING,
        "シンボリックリンク（→ {value}）です。リンクはたどらずに読み飛ばしました（{reason}）。",
    ),
    "inbox.symlink_outside": (
        Severity.ERROR,
        "受信フォルダの外の{what}を指すシンボリックリンク（→ {value}）です。リンクはたどらないため、"
        "リンク先は取り込んでいません。回答票であれば、ファイルそのものを受信フォルダに置いてください。",
    ),
    "inbox.loop": (
        Severity.WARNING,
        "このフォルダは、受信フォルダの中ですでに読んだフォルダと同じものです（マウントやジャンクションによるループ）。二度は読みません。",
    ),
    "inbox.name_encoding": (
        Severity.INFO,
        "ファイル名をそのままでは表示できません（UTF-8でない、または制御文字を含む名前です。バイト列 {raw}）。"
        "{how}表示しています。ファイルはそのまま読み取りました。",
    ),
    # --- identity: whose file is it (intake/identify.py) ---
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
        Severity.WARNING,
        "ファイル名は「{name_hint}」（{named}）ですが、管理情報では{department}の回答票です。{department}の回答として扱いました。"
        "{named}の回答票と取り違えていないか確認してください。",
    ),
    "identity.unverified": (
        Severity.INFO,
        "{department}・{year}・配付ID {found} の回答票です。作業フォルダを指定していないため、署名"
        "（管理情報が書き換えられていないこと）と計画マスタとの一致（各行の項目IDと事業内容などの対応を含む）は確認していません。",
    ),
    "submission.superseded": (
        Severity.WARNING,
        "{department}の回答票が複数あります。同じ課のファイルは保存日時が最も新しいものを使う決まりのため、"
        "「{winner}」（保存 {winner_saved}）を採用し、このファイル（保存 {saved}）は使っていません。",
    ),
    "submission.bad_saved_time": (
        Severity.WARNING,
        "このファイルに記録された保存日時「{value}」は{reason}。実際の保存日時ではないため不明として扱い、"
        "同じ課の回答票が複数あるときにどれを使うかの判断には使っていません。",
    ),
    "submission.missing": (
        Severity.WARNING,
        "{department}からの回答票がまだ届いていません（{count}行）。",
    ),
    # --- structure of the workbook (intake/rows.py) ---
    "sheet.missing": (
        Severity.ERROR,
        "回答シート「{sheet}」が見つかりません。回答は取り込んでいません。",
    ),
    "sheet.renamed": (
        Severity.WARNING,
        "回答シートの名前が「{expected}」から「{sheet}」に変えられています。項目IDで回答シートと確認できたため、このシートの回答を取り込みました。",
    ),
    "sheet.extra": (
        Severity.WARNING,
        "配付した回答票にないシート「{sheet}」があります（{detail}）。このシートの内容は取り込んでいません。",
    ),
    "sheet.unprotected": (
        Severity.INFO,
        "シート「{sheet}」の保護が解除されています。固定の欄が書き換えられていないかは、ほかの確認事項で確認しています。",
    ),
    "sheet.drawing_text": (
        Severity.WARNING,
        "シート「{sheet}」に図形・テキストボックスの文字があります（「{value}」）。図形の文字は取り込んでいません。必要なら回答欄に記入するよう依頼してください。",
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
    "row.inserted": (
        Severity.ERROR,
        "項目IDのない行（{row}行目）に記入があります（「{value}」）。追加された行は取り込んでいません。"
        "回答は配付した行に記入するよう依頼してください。",
    ),
    "row.id_edited": (
        Severity.ERROR,
        "項目IDが「{value}」に書き換えられています（事業内容から見て、本来は「{expected}」の行です）。"
        "この行の記入内容は取り込んでいません。項目IDを元に戻すよう依頼してください。",
    ),
    "row.reordered": (
        Severity.INFO,
        "行の並び順が配付時と変わっています（並べ替えられたようです）。回答は項目IDで照合して取り込みました。",
    ),
    # --- which item a row answers: its item id against its identifying texts (intake/match.py) ---
    "row.moved": (
        Severity.WARNING,
        "この行の項目IDは「{by_id}」ですが、{labels}は「{by_texts}」の行のものです。項目IDの列（非表示）だけが"
        "並べ替えられたか、書き換えられたようです。この行の回答は{labels}に合わせて「{by_texts}」の回答として"
        "取り込みました。",
    ),
    "row.id_conflict": (
        Severity.ERROR,
        "{row}行目は、項目IDでは「{by_id}」、{labels}では{by_texts}の行です。どの事業内容の回答か決められないため、"
        "この行の記入内容は取り込んでいません（ほかの行で回答されていない事業内容は未回答です）。"
        "項目IDの列を元に戻すか、配付した回答票に記入し直すよう依頼してください。",
    ),
    "row.not_distributed": (
        Severity.WARNING,
        "事業内容「{content}」は計画マスタでは{department}の回答行ですが、この回答票にはありません"
        "（配付後に計画マスタが変わったようです）。この行は未回答です。",
    ),
    "cell.fixed_edited": (
        Severity.WARNING,
        "{label}が書き換えられています（回答票:「{found}」／{source}:「{expected}」）。{source}の文言を使いました。"
        "文言の誤りの指摘であれば、{source}を直してください。",
    ),
    "cell.outside": (
        Severity.WARNING,
        "回答欄の外に記入があります（「{value}」）。この記入は取り込んでいません。回答であれば回答欄に記入するよう依頼してください。",
    ),
    "cell.merged": (
        Severity.ERROR,
        "セルが結合されています（{value}）。結合されたセルのうち左上以外の値は読み取れないため、結合を解除して記入し直すよう依頼してください。",
    ),
    "cell.comment": (
        Severity.WARNING,
        "セルにコメント（メモ）があります（「{value}」）。コメントは取り込んでいません。回答であれば回答欄に記入するよう依頼してください。",
    ),
    "cell.too_long": (
        Severity.WARNING,
        "{label}が{length}文字あり、Excelの1セルに入る32,767文字を超えています。別紙1のセルには先頭の32,767文字だけを載せ、"
        "全文は answers の CSV に残しました。要約を依頼してください。",
    ),
    "cell.unrepresentable": (
        Severity.WARNING,
        "{place}に表示・保存できない文字（{points}）があったため、「\ufffd」（U+FFFD）に置き換えて読みました{shown}。"
        "元の文字が必要なら、記入し直すよう依頼してください。",
    ),
    "cell.unresolved": (
        Severity.ERROR,
        "セルが参照する{what}（{detail}）がファイルの中にありません。{outcome}"
        "ファイルが壊れている可能性があります。保存し直して送り直すよう依頼してください。",
    ),
    "cell.error_value": (
        Severity.ERROR,
        "{label}がエラー値「{value}」です。空欄として扱います。",
    ),
    "formula.cached": (
        Severity.WARNING,
        "{label}が数式（={formula}）です。保存されていた計算結果「{value}」を回答として使いました。数式ではなく文字で記入するよう依頼してください。",
    ),
    "formula.no_value": (
        Severity.ERROR,
        "{label}が数式（={formula}）で、計算結果が保存されていません。空欄として扱います。文字で記入し直すよう依頼してください。",
    ),
    "formula.external": (
        Severity.WARNING,
        "{label}が外部のファイルを参照する数式（={formula}）です。参照先は開かず、保存されていた計算結果「{value}」を使いました。",
    ),
    # --- 成果指標 (KPI actuals) ---
    "kpi.missing": (
        Severity.WARNING,
        "成果指標「{name}」の実績が記入されていません。成果指標の表の値をそのまま使います。",
    ),
    "kpi.owner_unknown": (
        Severity.WARNING,
        "成果指標「{name}」の担当課「{value}」は回答票を配付する課ではないため、{year}の実績は回答票で集めません。成果指標の表に直接記入してください。",
    ),
    # --- feedback (差し戻し) ---
    "feedback.not_copied": (
        Severity.ERROR,
        "修正箇所に印を付けた回答票のコピーを作れませんでした（{reason}）。依頼文も書き出していません。"
        "確認事項を見て、この課には個別に修正を依頼してください。",
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
    """Build a finding from the catalogue: ``finding("status.invalid", value="▲", cell="C5")``.

    Every text of it is made representable (`xlsx.text.representable`): a finding reaches the
    terminal, findings.json and 確認事項, and none of them may fail on what a file held. The
    reader already replaced such characters with a finding of their own; this is the last guard.
    """
    default, template = CATALOGUE[code]
    message = template.format(value=value, department=department, item_id=item_id, file=file, sheet=sheet,
                              cell=cell, **words)
    return Finding(code, default if severity is None else severity, representable(message), _safe(file),
                   _safe(sheet), _safe(cell), _safe(item_id), _safe(department), _safe(value))


def _safe(text: str | None) -> str | None:
    return representable(text) if isinstance(text, str) else text


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
