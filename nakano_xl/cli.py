"""The ``nakano-xl`` command: parse, call the library, print, choose the exit status.

Exit status of every command (the contract scripts rely on; README has the table per command):
  0  done, no error findings (warnings allowed)
  1  done, but error findings remain (outputs are still written; the problems are listed)
  2  could not run: a usage error, no workspace, an unreadable plan, an output held open

The command chooses what the library leaves to its caller: how many worker processes
(``-j``, else `workers.auto_workers`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .errors import NakanoError
from .findings import Finding, Severity, count, exit_code, sorted_findings
from .workers import auto_workers
from .xlsx.measure import text_width

if TYPE_CHECKING:
    from .workspace import Workspace

EXIT_RUN_FAILED = 2


class Cli(click.Group):
    """Turns a run that cannot go on into one Japanese line and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NakanoError as e:
            click.echo(f"エラー: {e}", err=True)
            ctx.exit(EXIT_RUN_FAILED)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as e:  # anything else: one line, the details only on request
            if ctx.obj and ctx.obj.get("debug"):
                import traceback  # (only here: no other path needs it)

                traceback.print_exc()
            else:
                click.echo(f"エラー: 予期しない問題で処理を続けられません（{type(e).__name__}: {e}）。"
                           "--debug を付けると詳細を表示します。", err=True)
            ctx.exit(EXIT_RUN_FAILED)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nakano-xl")
@click.option("--debug", is_flag=True, help="予期しないエラーの詳細（トレースバック）を表示します。")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """進捗状況調査（別紙1）の配付・回収・取りまとめを行います。

    \b
    毎年の流れ:
      1. nakano-xl init 令和3年度 --plan plan.csv --kpis kpis.csv --year R3
      2. nakano-xl distribute -w 令和3年度      outbox/ の回答票を各課へ送る
      3. 返送されたファイルを 令和3年度/inbox/ に置く（名前・フォルダは自由）
         nakano-xl status -w 令和3年度        提出状況（未提出の課、問題のあるファイル）
         nakano-xl check 税務課.xlsx          1ファイルの確認（作業フォルダなしでも可）
      4. nakano-xl consolidate -w 令和3年度     output/別紙1_R3.xlsx ができる

    \b
    試しに全体を動かすには: nakano-xl demo デモ
    終了コード: 0 = 完了 / 1 = 完了したがエラーあり / 2 = 実行できなかった
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def say(text: str = "") -> None:
    """A line on stdout. When its reader has gone (``nakano-xl status | head``), the rest of the
    output is dropped and the command still ends with its own exit status: a closed pipe is
    not an error in the returns."""
    try:
        click.echo(text)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def workspace_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-w", "--workspace", "workspace", type=click.Path(path_type=Path, file_okay=False),
                        default=Path("."), show_default="現在のフォルダ",
                        help="作業フォルダ（nakano-xl init で作ったもの）。")(f)


def quiet_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-q", "--quiet", is_flag=True, help="進行状況を表示しません。")(f)


@contextlib.contextmanager
def progress_bar(label: str, quiet: bool, *, then: str | None = None) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for long work; none when quiet or not on a terminal.

    The bar appears on the first tick (work that ends before it never shows one). ``then``:
    a line shown when the bar is full while the command still works, e.g. writing the report
    after the last file was read, so a long silence does not look like a hang.
    """
    if quiet or not sys.stderr.isatty():
        yield None
        return
    bar: Any = None

    def tick(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total and then:
            bar.__exit__(None, None, None)
            bar.finished = True
            click.echo(then, err=True)

    try:
        yield tick
    finally:
        if bar is not None and not getattr(bar, "finished", False):
            bar.__exit__(None, None, None)


def jobs_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                        help="並行して処理するプロセス数（回答票の作成・読み取り）。"
                             "既定: 件数が多いときはCPUの数、少ないときは1。結果は何個でも同じです。")(f)


def inbox_workers(ws: Workspace) -> int:
    """Processes reading the inbox when ``-j`` does not say: by the number of files in it."""
    from .intake import list_inbox

    return auto_workers(len(list_inbox(ws.inbox)))


def echo_findings(findings: list[Finding], *, limit: int = 10) -> None:
    """「エラー 2件・警告 5件・情報 1件」 and the first few, worst first."""
    say(f"確認事項: {count_words(findings)}")
    worst = sorted(findings, key=lambda f: -f.severity)[:limit]
    for f in worst:
        place = " ".join(p for p in (f.file, f.sheet and f"[{f.sheet}]", f.cell, f.item_id) if p)
        who = f"{f.department} " if f.department else ""
        say(f"  {f.severity.label}: {who}{place + ': ' if place else ''}{f.message}")
    if len(findings) > limit:
        say(f"  ほか{len(findings) - limit}件")


@cli.command()
@click.argument("workspace", type=click.Path(path_type=Path, file_okay=False))
@click.option("--plan", "plan_path", required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="計画マスタ（CSV または .xlsx）。")
@click.option("--kpis", "kpis_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="成果指標の表（CSV または .xlsx、縦持ち: goal, name, owner, year, kind, value）。")
@click.option("--year", required=True, help="年度: R3、r3、令和3、令和3年度、2021 のいずれかの形。")
@click.option("--force", is_flag=True, help="作業フォルダがすでにあっても作り直します（署名鍵と inbox などの中身は残します）。")
def init(workspace: Path, plan_path: Path, kpis_path: Path | None, year: str, force: bool) -> None:
    """作業フォルダ WORKSPACE を作ります（その年度の設定・計画マスタ・署名鍵）。

    計画マスタと成果指標の表は作業フォルダにコピーされ、以後はそのコピーを使います。
    計画マスタの再掲元の誤り（見つからない・循環）はエラー、再掲行と再掲元の文言の
    違いは警告として表示します。

    \b
    例: nakano-xl init 令和3年度 --plan plan.csv --kpis kpis.csv --year R3
    """
    from .plan import check_plan
    from .workspace import init_workspace

    ws = init_workspace(workspace, plan_path, year, kpis_path=kpis_path, force=force)
    say(f"作業フォルダ {ws.root} を作成しました（{ws.year.label}、事業内容 {len(ws.plan)}行、"
               f"回答する課 {len(ws.plan.departments())}課）。")
    findings = check_plan(ws.plan)
    if findings:
        echo_findings(findings)
    say(f"次は: nakano-xl distribute -w {ws.root}")
    raise SystemExit(exit_code(findings))


@cli.command()
@workspace_option
@click.option("--renew", is_flag=True,
              help="新しい配付IDで配り直します。以前に配った回答票は受け付けなくなります。")
@jobs_option
@quiet_option
def distribute(workspace: Path, renew: bool, jobs: int | None, quiet: bool) -> None:
    """各課の回答票を outbox/<課>.xlsx に書き出します。

    回答票には、その課が回答する行だけ、進捗状況の選択リスト（◎ ○ △ ×）、
    記入要領、署名付きの管理情報が入ります。記入欄以外は保護されています。

    \b
    例: nakano-xl distribute -w 令和3年度
    """
    import nakano_xl as nx

    ws = nx.open_workspace(workspace)
    with progress_bar("回答票を作成中", quiet) as tick:
        workers = jobs or auto_workers(len(ws.plan.departments()))
        result = nx.distribute(ws, renew=renew, progress=tick, workers=workers)
    say(f"{len(result.files)}課の回答票を {ws.outbox} に書き出しました（配付ID {result.distribution_id}）。")
    if result.findings:
        echo_findings(result.findings)
    raise SystemExit(exit_code(result.findings))


@cli.command()
@workspace_option
@click.option("--dry-run", is_flag=True,
              help="何も書き出さず、確認事項と、前回の取りまとめから別紙1がどう変わるかを表示します。")
@jobs_option
@quiet_option
def consolidate(workspace: Path, dry_run: bool, jobs: int | None, quiet: bool) -> None:
    """inbox/ の回答票をすべて検証・統合し、別紙1・集計・確認事項・提出状況を書き出します。

    inbox/ の中はサブフォルダも含めてすべて読みます。ファイル名は問いません
    （どの課の回答票かは管理情報で判断します）。結果は output/ にできます。
    遅れて届いた回答票の影響を公表前に確かめるには --dry-run を付けます。

    \b
    例: nakano-xl consolidate -w 令和3年度
        nakano-xl consolidate -w 令和3年度 --dry-run
    """
    import nakano_xl as nx

    ws = nx.open_workspace(workspace)
    workers = jobs or inbox_workers(ws)
    then = None if dry_run else "別紙1などを書き出し中…"
    with progress_bar("回答票を読み込み中", quiet, then=then) as tick:
        if dry_run:
            from .consolidate import preview
            from .diff import describe

            result, changes = preview(ws, progress=tick, workers=workers)
        else:
            result = nx.consolidate(ws, progress=tick, workers=workers)
    echo_result(result)
    if dry_run:
        say("（--dry-run: ファイルは書き出していません）")
        if changes is None:
            say("前回の取りまとめ結果がないため、比較はできません。")
        else:
            say(f"前回の取りまとめから別紙1で変わるセル: {len(changes)}件")
            labels = ws.template.answer_labels(ws.year)
            for change in changes:
                say(f"  {describe(change, labels)}")
    raise SystemExit(exit_code(result.findings))


@cli.command()
@workspace_option
@click.option("--format", "fmt", required=True, type=click.Choice(["csv", "json", "pdf"]),
              help="csv = オープンデータ用（UTF-8 BOM付き）/ json = 項目ID付きの同じ行 / pdf = 別紙1と集計（LibreOffice が必要）。")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="書き出すファイル。既定は output/別紙1_<年度>.<形式>。")
@quiet_option
def export(workspace: Path, fmt: str, output: Path | None, quiet: bool) -> None:
    """取りまとめ結果を CSV・JSON（公開用データ）または PDF（別紙1と集計）で書き出します。

    inbox/ の回答票をその場で取りまとめ直して書き出します（output/ の別紙1などは書き換えません）。
    CSV では、= + - @ などで始まり表計算ソフトが数式とみなす文字列の先頭に ' を付けています。

    \b
    例: nakano-xl export -w 令和3年度 --format csv
    """
    from .export import export_report
    from .workspace import open_workspace

    ws = open_workspace(workspace)
    with progress_bar("回答票を読み込み中", quiet) as tick:
        done = export_report(ws, fmt, output=output, progress=tick, workers=inbox_workers(ws))
    counts = "・".join(f"{s.mark} {n}" for s, n in done.result.counts.items())
    say(f"{done.path} に書き出しました（{done.rows}行、進捗状況: {counts}）。")
    echo_findings(done.result.findings, limit=3)
    raise SystemExit(exit_code(done.result.findings))


def echo_result(result: Any) -> None:
    counts = "・".join(f"{s.mark} {n}" for s, n in result.counts.items())
    used = len(result.inbox.used())
    say(f"回答票 {used}件を取りまとめました。進捗状況: {counts}")
    echo_findings(result.findings)
    for path in result.outputs:
        say(f"  → {path}")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("-w", "--workspace", "workspace", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="作業フォルダ。指定すると署名と計画マスタとの一致も確認します（指定しなければ、ファイルだけで分かることを確認します）。")
@quiet_option
def check(files: tuple[Path, ...], workspace: Path | None, quiet: bool) -> None:
    """返送された回答票 FILE… を、取りまとめの前に確認します。

    ファイルの種類と安全性、管理情報、行・列の構成、進捗状況の記号、変更理由、数式などを
    確認し、確認事項をすべて表示します。作業フォルダなしでも使えます（各課での提出前の
    確認など）。その場合、署名と計画マスタとの一致は確認しません。ファイルは変更しません。

    \b
    例: nakano-xl check 税務課.xlsx
        nakano-xl check 令和3年度/inbox/*.xlsx -w 令和3年度
    """
    import nakano_xl as nx

    from .intake import check_files
    from .intake.identify import format_saved_at

    ws = nx.open_workspace(workspace) if workspace is not None else None
    with progress_bar("回答票を確認中", quiet or len(files) < 2) as tick:
        checked = check_files(list(files), ws, progress=tick)
    everything: list[Finding] = []
    for c in checked:
        found = sorted_findings(c.findings)
        everything += found
        who = f"{c.submission.department}の回答票（保存 {format_saved_at(c.submission.saved_at)}）" \
            if c.submission else "回答票として読み取れません"
        say(f"■ {c.record.file}: {who} — {count_words(found)}")  # the name as findings show it
        for f in found:
            place = "".join(p for p in (f.sheet and f"{f.sheet}!", f.cell, f.item_id and f" [{f.item_id}]") if p)
            say(f"  {f.severity.label}: {place + ': ' if place else ''}{f.message}")
    if len(checked) > 1:
        say(f"合計 {len(checked)}ファイル: {count_words(everything)}")
    raise SystemExit(exit_code(everything))


def count_words(findings: list[Finding]) -> str:
    errors, warnings, infos = (count(findings, s) for s in (Severity.ERROR, Severity.WARNING, Severity.INFO))
    return f"エラー {errors}件・警告 {warnings}件・情報 {infos}件"


def columns(text: str) -> int:
    """Columns a terminal gives ``text``: two for each full-width (Japanese) character."""
    return round(text_width(text, narrow=1.0))


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - columns(text))


@cli.command()
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="表の代わりに JSON で出力します（UTF-8）。")
@quiet_option
def status(workspace: Path, as_json: bool, quiet: bool) -> None:
    """回答票の提出状況を表示します: 課ごとの提出の有無、ファイル、保存日時、エラー・警告の数。

    inbox/ のファイルを読み取るだけで、何も書き出しません。まだ提出していない課と、
    どの課の回答票としても使えないファイル（読み取れない・署名が合わないなど）も表示します。
    届いたファイルにエラーがあれば終了コードは 1 です（未提出だけなら 0）。

    \b
    例: nakano-xl status -w 令和3年度
        nakano-xl status -w 令和3年度 --json
    """
    import nakano_xl as nx

    from .intake import read_inbox, return_status
    from .intake.identify import format_saved_at
    from .lock import recover_if_idle

    ws = nx.open_workspace(workspace)
    recover_if_idle(ws.root)  # what a killed run left in output/ is put in order, if no run is on
    with progress_bar("回答票を読み込み中", quiet or as_json) as tick:
        inbox = read_inbox(ws, progress=tick, workers=inbox_workers(ws))
    report = return_status(ws, inbox)
    problems = inbox.findings + [f for s in inbox.submissions for f in s.findings]
    if as_json:
        say(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
        raise SystemExit(exit_code(problems))
    headers = ["所管課", "提出", "ファイル", "保存日時", "エラー", "警告", "未回答/行数"]
    rows = [[d.department, "提出済" if d.returned else "未提出", d.file or "",
             format_saved_at(d.saved_at) if d.returned else "", str(d.errors) if d.returned else "",
             str(d.warnings) if d.returned else "", f"{d.unanswered}/{d.items}"] for d in report.departments]
    widths = [max(columns(r[i]) for r in [headers] + rows) for i in range(len(headers))]
    for r in [headers] + rows:
        say("  ".join(pad(cell, w) for cell, w in zip(r, widths)).rstrip())
    missing = report.missing()
    say(f"提出済 {len(report.departments) - len(missing)}課・未提出 {len(missing)}課"
               + (f"（{'、'.join(missing)}）" if missing else ""))
    others = [o for o in report.other_files if o.severity > Severity.INFO]
    if others:
        say("使われていないファイル:")
        for o in others:
            who = f"{o.department} " if o.department else ""
            say(f"  {o.severity.label}: {o.file}: {who}{o.message}")
    raise SystemExit(exit_code(problems))


@cli.command()
@workspace_option
@quiet_option
def feedback(workspace: Path, quiet: bool) -> None:
    """確認事項のある課ごとに、修正箇所に印を付けた回答票と依頼文を feedback/ に書き出します。

    各課から届いた回答票のコピーに、問題のあるセルの色付けとコメント、先頭に
    「修正のお願い」シートを加えます（保護と管理情報はそのまま）。課はそのファイルを
    直して返送すれば、そのまま取りまとめに使えます。依頼文（<課>_依頼文.txt）と、
    未提出の課の一覧と催促文（未提出の課.txt）も作ります。届いたファイルは変更しません。

    \b
    終了コード: 0 = エラーの確認事項なし / 1 = エラーの確認事項が残っている（その課には依頼文を
    作成）、または印を付けたコピーを作れなかった課がある / 2 = 実行できなかった

    \b
    例: nakano-xl feedback -w 令和3年度
    """
    import nakano_xl as nx

    from .feedback import write_feedback
    from .lock import workspace_lock

    ws = nx.open_workspace(workspace)
    # One lock over reading and writing: the letters are about the inbox as it was read.
    with workspace_lock(ws.root, "feedback"):
        with progress_bar("回答票を読み込み中", quiet) as tick:
            result = nx.consolidate(ws, progress=tick, write=False, workers=inbox_workers(ws))
        written = write_feedback(ws, result)
    say(f"修正をお願いする課: {len(written.workbooks)}課")
    for department, path in written.workbooks.items():
        say(f"  {department}: {path}  {written.letters[department].name}")
    if written.reminder:
        say(f"未提出の課の一覧と催促文: {written.reminder}")
    if written.findings:
        echo_findings(written.findings)
    raise SystemExit(exit_code(result.findings + written.findings))


@cli.command()
@workspace_option
@click.option("--to", "to_year", required=True, help="新しい年度: R4、令和4年度、2022 など。")
@click.argument("new_workspace", type=click.Path(path_type=Path, file_okay=False))
@click.option("--force", is_flag=True, help="新しい作業フォルダがすでにあっても作り直します。")
def rollover(workspace: Path, to_year: str, new_workspace: Path, force: bool) -> None:
    """今年度の結果から、翌年度の作業フォルダ NEW_WORKSPACE を作ります。

    計画マスタ（項目ID・実施内容・事業内容・所管課・再掲元）はそのまま引き継ぎ、今年度の
    取りまとめ結果を「前年度の回答」として引き継ぎます（回答票に参考として表示され、
    取りまとめでは前年度との比較シートができます）。成果指標の表には新しい年度の実績欄が
    加わります。事業の追加・終了は、新しい作業フォルダの計画マスタを直接編集してください。

    \b
    例: nakano-xl rollover -w 令和3年度 --to R4 令和4年度
    """
    import nakano_xl as nx

    from .rollover import rollover as roll

    ws = nx.open_workspace(workspace)
    new, findings = roll(ws, to_year, new_workspace, force=force)
    say(f"{new.year.label}の作業フォルダ {new.root} を作成しました（{ws.year.label}の回答を前年度分として引き継ぎ）。")
    if findings:
        echo_findings(findings)
    say(f"次は: 計画マスタ {new.root / new.settings.plan_file} を確認・編集してから nakano-xl distribute -w {new.root}")
    raise SystemExit(exit_code(findings))


@cli.command()
@click.argument("workspace", type=click.Path(path_type=Path, file_okay=False))
def demo(workspace: Path) -> None:
    """同梱の令和3年度データで、配付から取りまとめまでを一通り実行します。

    作業フォルダ WORKSPACE を作り、回答票を配付し、各課の回答（公表された令和3年度の
    値）を人が記入するのと同じように回答票に書き込んで inbox/ に保存し、取りまとめます。
    前回のデモのフォルダは作り直します。それ以外の空でないフォルダは使いません。

    \b
    例: nakano-xl demo デモ
    """
    from .demo import run_demo

    run = run_demo(workspace, step=lambda text: say(f"- {text}"))
    say(f"{len(run.distribution.files)}課に配付し、{len(run.filled)}件の回答票を記入しました。")
    echo_result(run.result)
    say(f"結果: {run.workspace.report_path()}")
    raise SystemExit(exit_code(run.result.findings))


def main() -> None:  # pragma: no cover - the console script
    # A Windows console redirected to a file encodes in cp932, which lacks some characters of
    # the report (— U+2014); print a replacement rather than fail on a message.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    cli(prog_name="nakano-xl")
