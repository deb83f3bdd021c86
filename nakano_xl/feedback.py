"""feedback (差し戻し): each department's own workbook back, with its problems marked.

For every department whose return has findings, ``feedback/<課>.xlsx`` is a copy of the file it
sent: the cells with findings filled red and annotated with a Japanese comment saying what is
wrong and how to fix it, a 修正のお願い sheet listing them all at the front, and everything
else as it was — still protected (with the workspace's password), still signed (the metadata
is not touched), so the department fixes it in place and sends it back, and it consolidates
like any return. Only the returns consolidate used are copied, each only if it fits the limits
openpyxl is given (`xlsx.footprint`); one that does not is ``feedback.not_copied``. Beside
it, ``<課>_依頼文.txt`` is a ready-to-send letter, and ``未提出の課.txt`` lists the departments
that sent nothing, with a reminder. The returned files themselves are never modified.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from .consolidate import Consolidation
from .errors import NakanoError
from .findings import Finding, Severity, finding
from .intake import Submission
from .layout import safe_file_name
from .lock import locked
from .workspace import Workspace
from .xlsx.files import write_atomically, write_text_atomically
from .xlsx.footprint import check_footprint
from .xlsx.reader import require_safe_xml
from .xlsx.zipguard import RefusedFile

# What a department should do, for the codes a department can act on in its own file. The
# finding's message says what was found; this says how to fix it, next to the cell.
HOW_TO_FIX = {
    "status.missing": "セルの▼から ◎ ○ △ × のいずれかを選んでください。",
    "status.invalid": "セルの▼から ◎ ○ △ × のいずれかを選び直してください。",
    "status.lookalike": "セルの▼から記号を選び直してください（見た目が似た別の文字が入っています）。",
    "reason.missing": "スケジュールの変更理由を記入してください。",
    "reason.recommended": "遅れている理由を記入してください。",
    "cell.fixed_edited": "この欄は変更できない欄です。元の文言のままにしてください（誤りは取りまとめ担当へご連絡ください）。",
    "cell.outside": "回答欄（黄色のセル）の外の記入は取りまとめに使われません。回答であれば該当する行の黄色のセルに移してください。",
    "cell.comment": "コメント（メモ）は取りまとめに使われません。回答であれば黄色のセルに記入してください。",
    "cell.merged": "セルの結合を解除し、各セルに記入し直してください。",
    "cell.error_value": "計算式ではなく、文字で記入し直してください。",
    "formula.cached": "計算式ではなく、文字で記入し直してください。",
    "formula.no_value": "計算式ではなく、文字で記入し直してください。",
    "formula.external": "ほかのファイルを参照する計算式ではなく、文字で記入し直してください。",
    "row.inserted": "追加した行の内容は取りまとめに使われません。配付した行の黄色のセルに記入してください。",
    "row.duplicate": "同じ事業内容の行が複数あります。1行にまとめてください。",
    "row.id_edited": "項目IDの欄は変更できません。元に戻してください。",
    "row.moved": "行を並べ替えるときは、非表示の項目IDの列も含めて並べ替えてください（今回は事業内容などの行の内容に合わせて取り込みました）。",
    "row.id_conflict": "項目IDの列（非表示）が行の内容と合っていません。配付した回答票に記入し直すか、行の並べ替えを元に戻してください。",
    "sheet.drawing_text": "図形やテキストボックスの文字は取りまとめに使われません。黄色のセルに記入してください。",
    "kpi.missing": "「成果指標」シートの黄色のセルに実績を記入してください。",
}
SEVERITY_WORDS = {Severity.ERROR: "要修正", Severity.WARNING: "要確認", Severity.INFO: "参考"}
MARK_FILL = PatternFill("solid", fgColor="FFFF9999")


@dataclass
class Feedback:
    workbooks: dict[str, Path] = field(default_factory=dict)  # department → marked copy
    letters: dict[str, Path] = field(default_factory=dict)  # department → letter
    reminder: Path | None = None
    findings: list[Finding] = field(default_factory=list)  # departments whose copy could not be made


@locked("feedback")
def write_feedback(ws: Workspace, result: Consolidation) -> Feedback:
    """Write the marked copies, the letters and the reminder list into ``feedback/``.

    Only the returns consolidate used are copied, and each only after `check_footprint` has
    opened it again with the intake's reader and limits and counted what openpyxl would build
    of it. A return that fails that check, or that openpyxl cannot copy, gets no copy and no
    letter, which would promise the copy, but an error finding: the coordinator writes to
    that department by hand. The other departments get theirs.
    """
    require_safe_xml()  # openpyxl is loaded now: its own choice of parser is checked too
    password = ws.sheet_password()  # read once; a broken password file stops the run before any copy
    spec = ws.template.feedback
    folder = ws.root / spec["folder"]
    out = Feedback()
    words = ws.template.texts(ws.year, coordinator=ws.settings.coordinator or "取りまとめ担当",
                              deadline=_deadline_words(ws))
    for sub in result.inbox.used():
        mine = [f for f in result.findings if f.file == sub.file and f.severity >= Severity.WARNING]
        if not mine:
            continue
        name = safe_file_name(sub.department)
        target = folder / f"{name}.xlsx"
        try:
            mark_workbook(ws, sub, mine, target, password)
        except NakanoError:
            raise  # the output is held open (OutputLocked): the run cannot go on
        except RefusedFile as e:  # more than openpyxl may be given: it never sees the file
            out.findings.append(finding("feedback.not_copied", file=sub.file, department=sub.department,
                                        reason=e.reason))
            continue
        except Exception as e:  # one department's copy must not cost the others theirs
            out.findings.append(finding("feedback.not_copied", file=sub.file, department=sub.department,
                                        reason=f"{type(e).__name__}: {e}"))
            continue
        out.workbooks[sub.department] = target
        letter = folder / spec["letter_file"].format(department=name)
        write_text_atomically(letter, _letter(ws, sub, mine, target.name, words))
        out.letters[sub.department] = letter
    missing = result.status.missing()
    if missing:
        out.reminder = folder / spec["reminder_file"]
        write_text_atomically(out.reminder, spec["reminder"].format_map({
            **words, "count": len(missing), "departments": "\n".join(f"・{d}" for d in missing),
            "department_placeholder": "（課名）"}))
    return out


def mark_workbook(ws: Workspace, sub: Submission, findings: list[Finding], target: Path, password: str) -> None:
    """Copy the department's file with its findings marked; only styles, comments and one sheet
    added, and its sheets protected with ``password`` (the workspace's).

    Raises `RefusedFile` when the file is more than openpyxl may open (`check_footprint`).
    """
    spec = ws.template.feedback
    path = sub.path or ws.inbox / sub.file  # the real name: `file` is how it is shown
    check_footprint(path, ws.settings.limits)
    book = openpyxl.load_workbook(path)
    for f in findings:
        if f.cell and f.sheet in book.sheetnames:
            cell = _writable(book[f.sheet], f.cell)
            note = "\n".join(filter(None, (f.message, HOW_TO_FIX.get(f.code))))
            if cell.comment is not None:
                note = cell.comment.text + "\n" + note
            cell.comment = Comment(note, spec["comment_author"], width=320, height=140)
            cell.fill = MARK_FILL
    sheet = book.create_sheet(spec["sheet"], 0)
    words = ws.template.texts(ws.year, department=sub.department)
    sheet["A1"] = spec["sheet_title"].format_map(words)
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = spec["sheet_note"]
    sheet["A2"].font = Font(color="FFC00000")
    for col, header in enumerate(spec["sheet_headers"], start=1):
        sheet.cell(4, col, header).font = Font(bold=True)
    for row, f in enumerate(findings, start=5):
        item = ws.plan.get(f.item_id) if f.item_id else None
        values = [SEVERITY_WORDS[f.severity], f"{f.sheet}!{f.cell}" if f.cell else "", f.item_id or "",
                  item.content if item else "", "\n".join(filter(None, (f.message, HOW_TO_FIX.get(f.code))))]
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(row, col, value)
            cell.data_type = "s"  # a message is text, whatever it starts with
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDE", (8, 12, 10, 40, 70)):
        sheet.column_dimensions[letter].width = width
    sheet.protection.set_password(password)  # (and protects the sheet)
    protect_distributed_sheets(ws, book, password)
    book.active = 0
    for other in book.worksheets[1:]:
        other.sheet_view.tabSelected = False
    # openpyxl stamps the save time into the copy: unlike the report, a feedback copy is a new
    # return in the making, and "the most recently saved file wins" must rank it after the original.
    buffer = io.BytesIO()
    book.save(buffer)
    write_atomically(target, buffer.getvalue())


def _writable(sheet: Worksheet, ref: str) -> Cell:
    """The cell at ``ref``, or, inside a merge the department made, the merge's first cell:
    the only one of a merge that shows a comment and a fill (openpyxl refuses the others)."""
    cell = sheet[ref]
    if isinstance(cell, MergedCell):
        for merged in sheet.merged_cells.ranges:
            if ref in merged:
                return sheet.cell(merged.min_row, merged.min_col)
    return cell


def protect_distributed_sheets(ws: Workspace, book: openpyxl.Workbook, password: str) -> None:
    """The sheets distribute protected, protected again with the workspace's password.

    openpyxl does not keep a sheet's password hash as it read it: it hashes the hash again on
    loading, so saving as loaded would leave a password nobody knows. A sheet the department
    unprotected gets its protection back, with what distribute allowed (row heights and column
    widths on the answer and KPI sheets); a newer hash (SHA-512, written by Excel when a user
    sets a password) is replaced.
    """
    spec = ws.template.input
    resizable = {spec["answer_sheet"], spec.get("kpi_sheet")}
    for name in (spec["answer_sheet"], spec.get("kpi_sheet"), spec["instructions_sheet"], spec["metadata_sheet"]):
        if name not in book.sheetnames:
            continue
        protection = book[name].protection
        if not protection.sheet:
            protection.formatColumns = protection.formatRows = name not in resizable
        protection.algorithmName = protection.hashValue = protection.saltValue = protection.spinCount = None
        protection.set_password(password)


def _letter(ws: Workspace, sub: Submission, findings: list[Finding], feedback_file: str,
            words: dict[str, str]) -> str:
    spec = ws.template.feedback
    lines = []
    for n, f in enumerate(findings, start=1):
        item = ws.plan.get(f.item_id) if f.item_id else None
        place = ""
        if f.cell:
            place = f"{f.sheet}シート {f.cell}"
            if item:
                place += f"（{item.content}）"
            place += ": "
        fix = HOW_TO_FIX.get(f.code, "")
        lines.append(spec["problem_line"].format(number=n, place=place, message=f.message + fix))
    return spec["letter"].format_map({**words, "department": sub.department, "file": Path(sub.file).name,
                                      "problems": "\n".join(lines), "feedback_file": feedback_file})


def _deadline_words(ws: Workspace) -> str:
    spec = ws.template.feedback
    if ws.settings.deadline:
        return spec["deadline_words"].format(deadline=ws.settings.deadline)
    return spec["no_deadline_words"]
