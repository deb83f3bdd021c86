"""The workspace: the folder a coordinator works in for one fiscal year.

::

    WS/
      nakano-xl.toml      settings: year, title, limits, rules (edit by hand)
      plan.csv            the plan master (a copy; edit by hand)
      kpis.csv            the KPI table (a copy; edit by hand)
      outbox/             department workbooks to send       (distribute)
      inbox/              returned files, any names, subfolders (the coordinator puts them here)
      output/             別紙1_R3.xlsx, findings.json, answers_R3.csv  (consolidate)
      .nakano-xl/         signing key, distribution record, sheet password, the lock: never send these out
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .answers import load_answers
from .errors import NakanoError, WorkspaceError
from .lock import locked
from .model import Answer, FiscalYear, Kpi, Plan
from .plan import load_kpis, load_plan
from .template import Template, load_template
from .xlsx.files import write_text_atomically
from .xlsx.zipguard import Limits

SETTINGS_FILE = "nakano-xl.toml"
PRIVATE_DIR = ".nakano-xl"
KEY_FILE = "signing.key"
DISTRIBUTION_FILE = "distribution.json"
PASSWORD_FILE = "sheet.password"
# The sheet-protection password: letters and digits a coordinator can type, 12 of them. Excel's
# sheet password hash (the one xlsxwriter and openpyxl write) is defined on at most 15 characters.
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
PASSWORD_LENGTH = 12

CONFLICT_RULES = ("lead", "error")
REPRINT_DISPLAYS = ("published", "copy")
# Rules older workspaces' settings may still hold, read and ignored: "duplicate_submission"
# named the one behaviour there is (the most recently saved file of a department is used).
RETIRED_RULES = ("duplicate_submission",)


@dataclass(frozen=True, slots=True)
class Rules:
    conflict: str = "lead"  # a shared row answered differently: the lead department wins, or "error"
    reprint_display: str = "published"  # 再掲 rows blank as printed, or "copy" the original's answers
    prefill_plans: bool = True  # after rollover: plan cells start from last year's later-plan text


@dataclass(frozen=True, slots=True)
class Settings:
    year: FiscalYear
    title: str
    template: str
    coordinator: str
    created: dt.datetime  # the document date of every workbook written here: same inputs, same bytes
    deadline: str = ""
    plan_file: str = "plan.csv"
    kpis_file: str = ""
    limits: Limits = field(default_factory=Limits)
    rules: Rules = field(default_factory=Rules)
    previous_year: FiscalYear | None = None  # set by rollover: last year's result is the reference
    previous_plan_file: str = ""
    previous_answers_file: str = ""


@dataclass(frozen=True)
class Previous:
    """Last year's plan master and merged answers, carried over by rollover."""

    year: FiscalYear
    plan: Plan
    answers: dict[str, Answer]


@dataclass
class Workspace:
    root: Path
    settings: Settings
    template: Template
    plan: Plan
    kpis: list[Kpi]
    previous: Previous | None = None

    @property
    def year(self) -> FiscalYear:
        return self.settings.year

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def private(self) -> Path:
        return self.root / PRIVATE_DIR

    def key(self) -> bytes:
        """The signing key: the hex digits ``init`` wrote. An empty or damaged key is an error
        here, not a signature every returned file then fails (a wrong diagnosis)."""
        path = self.private / KEY_FILE
        redo = "作業フォルダを作り直すか、配付に使った作業フォルダの鍵に戻してください。"
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as e:
            why = "半角英数字以外の文字が含まれています" if isinstance(e, UnicodeDecodeError) else e.strerror or type(e).__name__
            raise WorkspaceError(f"署名鍵 {path} を読み取れません（{why}）。{redo}") from None
        if not text:
            raise WorkspaceError(f"署名鍵 {path} が空です。{redo}")
        try:
            key = bytes.fromhex(text)
        except ValueError:
            raise WorkspaceError(f"署名鍵 {path} が16進数の文字列ではありません"
                                 f"（0-9 と a-f の偶数個の文字、{len(text)}文字）。{redo}") from None
        return key

    def sheet_password(self) -> str:
        """The password the workbooks' sheets are protected with (``.nakano-xl/sheet.password``).

        Made at random the first time it is asked for (by `init_workspace`, or by the first
        `distribute` of a workspace made before there was one) and kept: the same workspace
        gives the same workbooks. It is written into no workbook, only its hash.
        """
        path = self.private / PASSWORD_FILE
        if not path.exists():
            write_text_atomically(path, "".join(secrets.choice(PASSWORD_ALPHABET)
                                                for _ in range(PASSWORD_LENGTH)) + "\n")
        try:
            password = path.read_text(encoding="ascii").strip()
        except (OSError, ValueError):
            password = ""
        if not password or len(password) > 15 or not password.isprintable():
            raise WorkspaceError(f"シート保護のパスワード {path} を読み取れません（半角15文字以内の1行）。"
                                 "ファイルを削除すると、次の配付で新しいパスワードが作られます。")
        return password

    def distribution(self) -> dict[str, Any] | None:
        """The record distribute keeps: distribution id and what each department was sent."""
        path = self.private / DISTRIBUTION_FILE
        if not path.exists():  # not yet distributed (a folder by that name is an error below)
            return None
        redo = ("配付したときのファイルに戻してください（削除して nakano-xl distribute で配付し直すこともできますが、"
                "前の配付の回答票は受け付けられなくなります）。")
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise WorkspaceError(f"配付記録 {path} を読み取れません（{e.strerror or type(e).__name__}）。{redo}") from None
        except ValueError:  # not UTF-8, or not JSON
            raise WorkspaceError(f"配付記録 {path} を JSON として読み取れません。{redo}") from None
        problem = distribution_problem(record)
        if problem:
            raise WorkspaceError(f"配付記録 {path} の内容が不正です（{problem}）。{redo}")
        return record  # type: ignore[no-any-return]

    def save_distribution(self, record: dict[str, Any]) -> None:
        write_text_atomically(self.private / DISTRIBUTION_FILE,
                              json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True) + "\n")

    def report_path(self) -> Path:
        return self.output / f"別紙1_{self.year.code}.xlsx"

    def findings_path(self) -> Path:
        return self.output / "findings.json"

    def answers_path(self) -> Path:
        """The merged answers consolidate writes; rollover and ``consolidate --dry-run`` read them."""
        return self.output / f"answers_{self.year.code}.csv"


def distribution_problem(record: object) -> str | None:
    """What is wrong with a distribution record as read from JSON, in Japanese; None if nothing.

    Only the keys distribute writes are checked: each is read by some command.
    """
    if not isinstance(record, dict):
        return f"JSON のオブジェクト {{…}} ではなく {_json_kind(record)} です"
    dist_id = record.get("distribution_id")
    if not isinstance(dist_id, str) or not dist_id.strip() or not dist_id.isprintable():
        return f"distribution_id が空でない文字列ではありません（{_json_kind(dist_id)}）"
    for name in ("fiscal_year", "template_version"):
        if name in record and not isinstance(record[name], str):
            return f"{name} が文字列ではありません（{_json_kind(record[name])}）"
    sent = record.get("departments", {})
    if not isinstance(sent, dict):
        return f"departments が JSON のオブジェクトではありません（{_json_kind(sent)}）"
    for department, entry in sent.items():
        if not isinstance(entry, dict):
            return f"departments の「{department}」が JSON のオブジェクトではありません（{_json_kind(entry)}）"
    return None


def _json_kind(value: object) -> str:
    kinds = {dict: "オブジェクト", list: "配列", str: "文字列", bool: "真偽値", int: "数値", float: "数値"}
    if value is None:
        return "null"
    return f"{kinds.get(type(value), type(value).__name__)} {json.dumps(value, ensure_ascii=False)[:40]}"


@locked("init --force", when=lambda root, *a, force=False, **k: force and root.exists())
def init_workspace(root: Path, plan_path: Path, year: str, *, kpis_path: Path | None = None,
                   template: str = "nakano", force: bool = False,
                   now: dt.datetime | None = None) -> Workspace:
    """Create a workspace for one fiscal year from a plan master (and a KPI table).

    The plan is read before anything is written, so a bad plan leaves nothing behind.
    ``force`` rewrites the settings and the plan copies of an existing workspace but keeps its
    signing key, its distribution and every file in inbox/outbox/output.
    """
    fiscal_year = FiscalYear.parse(year)
    tmpl = load_template(template)
    load_plan(plan_path, tmpl.department_rules)
    if kpis_path is not None:
        load_kpis(kpis_path)
    if root.exists() and any(root.iterdir()) and not force:
        raise WorkspaceError(f"{root} はすでにあり、空ではありません。上書きする場合は --force を付けてください。")
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("inbox", "outbox", "output", PRIVATE_DIR):
        (root / sub).mkdir(exist_ok=True)
    plan_name = "plan" + plan_path.suffix.lower()
    shutil.copyfile(plan_path, root / plan_name)
    kpis_name = ""
    if kpis_path is not None:
        kpis_name = "kpis" + kpis_path.suffix.lower()
        shutil.copyfile(kpis_path, root / kpis_name)
    key_path = root / PRIVATE_DIR / KEY_FILE
    if not key_path.is_file():
        write_text_atomically(key_path, secrets.token_hex(32) + "\n")
    created = (now or dt.datetime.now()).replace(microsecond=0, tzinfo=None)
    settings = Settings(year=fiscal_year, title=tmpl.report["title"], template=template,
                        coordinator=tmpl.coordinator, created=created, plan_file=plan_name,
                        kpis_file=kpis_name)
    write_text_atomically(root / SETTINGS_FILE, render_settings(settings))
    ws = open_workspace(root)
    ws.sheet_password()  # made now if there is none yet; kept by --force
    return ws


def open_workspace(root: Path) -> Workspace:
    """Open an existing workspace: settings, template, plan master and KPI table."""
    path = root / SETTINGS_FILE
    if not path.is_file():
        raise WorkspaceError(
            f"{root} は nakano-xl の作業フォルダではありません（{SETTINGS_FILE} がありません）。"
            "nakano-xl init で作るか、-w で作業フォルダを指定してください。"
        )
    settings = read_settings(path)
    template = load_template(settings.template)
    plan = load_plan(root / settings.plan_file, template.department_rules)
    kpis = load_kpis(root / settings.kpis_file) if settings.kpis_file else []
    previous = None
    if settings.previous_year is not None:
        old_plan = load_plan(root / settings.previous_plan_file, template.department_rules)
        previous = Previous(settings.previous_year, old_plan,
                            load_answers(root / settings.previous_answers_file, old_plan))
    return Workspace(root, settings, template, plan, kpis, previous)


def read_settings(path: Path) -> Settings:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise WorkspaceError(f"設定ファイル {path} を読み取れません（{e}）。") from None
    try:
        created = data["created"]
        if not isinstance(created, dt.datetime):
            raise TypeError("created must be a date and time")
        files = data.get("files", {})
        previous = data.get("previous", {})
        limits = Limits.from_settings(data.get("limits", {}))
        rules = Rules(**{k: v for k, v in data.get("rules", {}).items() if k not in RETIRED_RULES})
        if not isinstance(rules.prefill_plans, bool):
            raise ValueError("rules.prefill_plans は true か false です")
        if rules.conflict not in CONFLICT_RULES:
            raise ValueError(f"rules.conflict は {' / '.join(CONFLICT_RULES)} のいずれかです")
        if rules.reprint_display not in REPRINT_DISPLAYS:
            raise ValueError(f"rules.reprint_display は {' / '.join(REPRINT_DISPLAYS)} のいずれかです")
        return Settings(
            year=FiscalYear.parse(data["year"]),
            title=str(data["title"]),
            template=str(data.get("template", "nakano")),
            coordinator=str(data.get("coordinator", "")),
            created=created.replace(tzinfo=None),
            deadline=str(data.get("deadline", "")),
            plan_file=str(files.get("plan", "plan.csv")),
            kpis_file=str(files.get("kpis", "")),
            limits=limits,
            rules=rules,
            previous_year=FiscalYear.parse(previous["year"]) if previous.get("year") else None,
            previous_plan_file=str(previous.get("plan", "")),
            previous_answers_file=str(previous.get("answers", "")),
        )
    except NakanoError as e:
        raise WorkspaceError(f"設定ファイル {path}: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise WorkspaceError(f"設定ファイル {path} の内容が不正です（{e}）。") from None


def _toml_str(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(value, ensure_ascii=False)


def render_settings(s: Settings) -> str:
    """The settings file, with a comment on every key: coordinators edit it by hand."""
    limits = "\n".join(f"{f.name} = {getattr(s.limits, f.name)!r}" for f in fields(Limits))
    return f"""# nakano-xl 作業フォルダの設定 (workspace settings)
# 手で編集できます。編集後は nakano-xl status で読めることを確認してください。

# 年度（令和N年度）。見出しの「令和N年度までの取組状況」などはここから作られます。
year = {_toml_str(s.year.code)}
# 別紙1の表題
title = {_toml_str(s.title)}
# 様式（templates/ の名前）
template = {_toml_str(s.template)}
# 取りまとめ担当課（記入要領に表示します）
coordinator = {_toml_str(s.coordinator)}
# 提出期限（記入要領に表示します。例: "令和4年5月20日(金)"）
deadline = {_toml_str(s.deadline)}
# 書き出すブックの作成日時。同じ入力からは同じバイト列のファイルができるよう固定しています。
created = {s.created.isoformat()}

[files]
# 計画マスタと成果指標の表（この作業フォルダの中のファイル名）
plan = {_toml_str(s.plan_file)}
kpis = {_toml_str(s.kpis_file)}

[limits]
# 返送ファイル1つあたりの上限。超えたファイルは読まずにエラーとして報告します。
{limits}

[rules]
# 複数課で回答する行の回答が食い違ったとき: "lead" = 筆頭課の回答を採用 / "error" = 未回答のまま要確認
conflict = {_toml_str(s.rules.conflict)}
# 再掲行の表示: "published" = 公表どおり空欄 / "copy" = 再掲元の回答を転記（集計には数えません）
reprint_display = {_toml_str(s.rules.reprint_display)}
# 前年度の結果があるとき、翌年度・以降の取組予定欄に前年度の「以降取組予定」をあらかじめ入れる: true / false
prefill_plans = {"true" if s.rules.prefill_plans else "false"}
{_previous_section(s)}"""


def _previous_section(s: Settings) -> str:
    if s.previous_year is None:
        return ""
    return f"""
[previous]
# 前年度の結果（nakano-xl rollover が引き継いだもの）。回答票に前年度の回答を参考として載せ、
# 取りまとめでは前年度との比較シートを作ります。
year = {_toml_str(s.previous_year.code)}
plan = {_toml_str(s.previous_plan_file)}
answers = {_toml_str(s.previous_answers_file)}
"""
