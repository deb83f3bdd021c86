"""The coordinator's own files, when broken, are named — and the CSVs a person opens are safe.

Broken settings (signing key, distribution record, limits, department names in the plan
master) stop the command with exit 2 and one Japanese line naming the file and the setting,
never a traceback nor a wrong diagnosis of every return. Every CSV we write for a person is
UTF-8 with a BOM, formula-like text neutralised, and reads back as it was written.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nakano_xl.answers import load_answers, save_answers, write_answers
from nakano_xl.cli import cli
from nakano_xl.csvtext import GUARD_COLUMN, neutralise, restore
from nakano_xl.export import run_soffice
from nakano_xl.fill import fill_workbook
from nakano_xl.model import NO_ANSWER, Answer, Status
from nakano_xl.plan import load_kpis, load_plan
from nakano_xl.rollover import rollover
from nakano_xl.template import load_template
from nakano_xl.workspace import open_workspace

from . import lo
from .helpers import PLAN_HEADER, TINY_PLAN, write_csv
from .intake_kit import GOOD, assert_landed, file_of, returned


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def assert_named(result, *names: str) -> None:
    """Exit 2, one line naming every one of ``names``, no traceback, no 'unexpected problem'."""
    text = result.output
    assert result.exit_code == 2, text
    assert "Traceback" not in text and "予期しない" not in text, text
    assert text.startswith("エラー: "), text
    for name in names:
        assert name in text, (name, text)


@pytest.fixture
def ws(tmp_path):
    """A workspace whose inbox holds every department's valid return; consolidate exits 0."""
    ws, _, _ = returned(tmp_path)
    return ws


# --- the signing key --------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["", "  \n\t\n", "zz" * 32, "abc", "0123456789abcdef0", "ｆｆ" * 8,
                                 "\ufeff" + "ab" * 32])
def test_a_broken_signing_key_is_named_not_blamed_on_every_return(ws, key):
    assert run("consolidate", "-w", str(ws.root), "-q").exit_code == 0  # the same inbox was fine
    path = ws.private / "signing.key"
    path.write_text(key, encoding="utf-8")
    for command in ("consolidate", "status", "distribute"):
        assert_named(run(command, "-w", str(ws.root)), str(path), "署名鍵")


def test_a_missing_or_unreadable_signing_key_is_named(ws):
    path = ws.private / "signing.key"
    path.unlink()
    assert_named(run("consolidate", "-w", str(ws.root)), str(path), "署名鍵")
    path.mkdir()  # a folder where the key belongs
    assert_named(run("consolidate", "-w", str(ws.root)), str(path), "署名鍵")


def test_a_key_with_surrounding_white_space_still_signs(ws):
    path = ws.private / "signing.key"
    path.write_text("\n  " + path.read_text(encoding="ascii").strip().upper() + "  \n\n", encoding="ascii")
    result = run("consolidate", "-w", str(ws.root), "-q")
    assert result.exit_code == 0, result.output
    assert_landed(ws)


# --- the distribution record ------------------------------------------------------------------

@pytest.mark.parametrize(("record", "setting"), [
    ([1, 2], "配列"),
    ("x", "文字列"),
    (None, "null"),
    (7, "数値"),
    ({}, "distribution_id"),
    ({"distribution_id": 5}, "distribution_id"),
    ({"distribution_id": ""}, "distribution_id"),
    ({"distribution_id": ["a1b2"]}, "distribution_id"),
    ({"distribution_id": "a1b2\x00"}, "distribution_id"),
    ({"distribution_id": "a1b2c3", "departments": 3}, "departments"),
    ({"distribution_id": "a1b2c3", "departments": ["職員課"]}, "departments"),
    ({"distribution_id": "a1b2c3", "departments": {"職員課": "職員課.xlsx"}}, "職員課"),
    ({"distribution_id": "a1b2c3", "fiscal_year": 3}, "fiscal_year"),
    ({"distribution_id": "a1b2c3", "template_version": None}, "template_version"),
])
def test_a_malformed_distribution_record_is_named(ws, record, setting):
    path = ws.private / "distribution.json"
    kept = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(record), encoding="utf-8")
    for command in ("consolidate", "status", "distribute"):
        assert_named(run(command, "-w", str(ws.root)), str(path), "配付記録", setting)
    path.write_text(json.dumps(kept), encoding="utf-8")
    assert run("consolidate", "-w", str(ws.root), "-q").exit_code == 0


def test_a_folder_where_the_distribution_record_belongs_is_named(ws):
    path = ws.private / "distribution.json"
    path.unlink()
    path.mkdir()
    assert_named(run("consolidate", "-w", str(ws.root)), str(path), "配付記録")


@pytest.mark.parametrize("text", ["", "{", "[1, 2", "\xff\xfe{}"])
def test_an_unreadable_distribution_record_is_named(ws, text):
    path = ws.private / "distribution.json"
    path.write_bytes(text.encode("latin-1"))
    assert_named(run("consolidate", "-w", str(ws.root)), str(path), "配付記録")


# --- limits -----------------------------------------------------------------------------------

def set_limit(root: Path, text: str) -> Path:
    path = root / "nakano-xl.toml"
    settings_text = path.read_text(encoding="utf-8")
    assert "[limits]\n" in settings_text
    path.write_text(settings_text.replace("[limits]\n", f"[limits]\n{text}\n", 1), encoding="utf-8")
    return path


def drop_limit(root: Path, name: str) -> None:
    path = root / "nakano-xl.toml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith(f"{name} =")), encoding="utf-8")


@pytest.mark.parametrize(("name", "value"), [
    ("max_ratio", "nan"), ("max_ratio", "-nan"), ("max_ratio", "-1"), ("max_ratio", "0"), ("max_ratio", "0.0"),
    ("max_ratio", "inf"), ("max_ratio", "-inf"), ("max_ratio", '"10"'), ("max_ratio", "true"),
    ("max_ratio", "[200]"), ("max_file_bytes", "-5"), ("max_file_bytes", "0"), ("max_file_bytes", "1.5e7"),
    ("max_file_bytes", '"20000000"'), ("max_file_bytes", "false"), ("max_rows", "nan"), ("max_rows", "inf"),
    ("max_columns", "64.5"), ("max_entries", "{ n = 5 }"), ("max_part_bytes", "-100_000_000"),
])
def test_a_limit_that_is_not_a_positive_finite_number_is_named(ws, name, value):
    drop_limit(ws.root, name)
    path = set_limit(ws.root, f"{name} = {value}")
    for command in ("consolidate", "status", "distribute"):
        assert_named(run(command, "-w", str(ws.root)), str(path), f"limits.{name}")


def test_a_misspelt_limit_is_named_rather_than_silently_ignored(ws):
    path = set_limit(ws.root, "max_ratoi = 50.0")
    assert_named(run("status", "-w", str(ws.root)), str(path), "limits.max_ratoi")


def test_limits_not_a_table_are_named(ws):
    path = ws.root / "nakano-xl.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("[limits]")
    end = text.index("[rules]")
    path.write_text("limits = 5\n" + text[:start] + text[end:], encoding="utf-8")  # a top-level key
    assert_named(run("status", "-w", str(ws.root)), str(path), "[limits]")


def test_good_limits_are_read_with_their_kind(ws):
    drop_limit(ws.root, "max_ratio")
    drop_limit(ws.root, "max_rows")
    set_limit(ws.root, "max_ratio = 50\nmax_rows = 20_000")
    limits = open_workspace(ws.root).settings.limits
    assert limits.max_ratio == 50.0 and isinstance(limits.max_ratio, float) and limits.max_rows == 20_000
    assert run("consolidate", "-w", str(ws.root), "-q").exit_code == 0


# --- department names in the plan master ------------------------------------------------------

def plan_with(root: Path, rows: list[list[str]]) -> Path:
    return write_csv(root / "plan.csv", PLAN_HEADER, TINY_PLAN + rows)


def extra(item_id: str, departments: str) -> list[str]:
    return [item_id, "3-1-①", "", f"追加の事業{item_id}", departments, ""]


@pytest.mark.parametrize(("departments", "shown"), [
    ("情報\x01課", "\\u0001"),
    ("(子育て\t支援課)", "\\u0009"),
    ("防災課 \x7f", "\\u007f"),
    ("議会\x9b事務局", "\\u009b"),
    ("情報課\x1f税務課", "\\u001f"),  # a separator Python counts as white space is still a control character
])
def test_a_department_name_with_control_characters_is_named(ws, departments, shown):
    path = plan_with(ws.root, [extra("X1", departments)])
    assert_named(run("status", "-w", str(ws.root)), str(path), "8行目", "制御文字", shown)


@pytest.mark.parametrize("departments", ["\u200b", "職員課 \ufeff", "\u2060", "\u200d\u200c"])
def test_an_empty_department_name_is_named(ws, departments):
    path = plan_with(ws.root, [extra("X1", departments)])
    assert_named(run("status", "-w", str(ws.root)), str(path), "8行目", "空の課名")


@pytest.mark.parametrize(("first", "second", "why"), [
    ("ＤＸ推進課", "DX推進課", "全角・半角"),  # NFKC
    ("ｺｺﾛ課", "ココロ課", "全角・半角"),  # half-width katakana
    ("(子育て 支援課)", "子育て支援課", "空白"),
    ("(子育て　支援課)", "(子育て支援課)", "空白"),
    ("dx推進課", "DX推進課", "dx推進課.xlsx"),  # Windows and macOS file names ignore case
    ("企画/調整課", "企画:調整課", "企画_調整課.xlsx"),  # the same outbox file
    ("企画?調整課", "企画_調整課", "企画_調整課.xlsx"),
    ("統計課.", "統計課", "統計課.xlsx"),  # Windows drops a trailing dot
    ("広報\u200b課", "広報課", "広報\\u200b課"),  # an invisible character
])
def test_department_names_that_collide_after_normalisation_are_named(ws, first, second, why):
    path = plan_with(ws.root, [extra("X1", first), extra("X2", second)])
    result = run("status", "-w", str(ws.root))
    assert_named(result, str(path), "9行目", "8行目", "区別できません", why)


def test_a_collision_with_an_existing_department_names_both_rows(ws):
    path = plan_with(ws.root, [extra("X1", "戸籍住民課 (職員 課)")])  # 職員課 answers T4 on line 5
    assert_named(run("status", "-w", str(ws.root)), str(path), "8行目", "5行目", "「職員 課」", "「職員課」")


def test_a_broken_plan_stops_init_before_anything_is_written(tmp_path):
    plan = write_csv(tmp_path / "plan.csv", PLAN_HEADER, TINY_PLAN + [extra("X1", "ＤＸ推進課"),
                                                                     extra("X2", "DX推進課")])
    result = run("init", str(tmp_path / "ws"), "--plan", str(plan), "--year", "R3")
    assert_named(result, str(plan), "DX推進課", "ＤＸ推進課")
    assert not (tmp_path / "ws").exists()


@pytest.mark.parametrize("name", ["CON", "企画/調整課", "a:b課", "統計課.", "(仮称)未来課", "LPT1課", "課 の 名前？"])
def test_names_merely_awkward_as_windows_file_names_are_accepted(tmp_path, name):
    plan = write_csv(tmp_path / "plan.csv", PLAN_HEADER, TINY_PLAN + [extra("X1", name)])
    loaded = load_plan(plan, load_template().department_rules)
    assert loaded.departments()[-1] in name


def test_a_plan_with_awkward_names_distributes_one_file_each(tmp_path):
    plan = write_csv(tmp_path / "plan.csv", PLAN_HEADER,
                     TINY_PLAN + [extra("X1", "企画/調整課"), extra("X2", "統計課."), extra("X3", "CON")])
    root = tmp_path / "ws"
    assert run("init", str(root), "--plan", str(plan), "--year", "R3").exit_code == 0
    result = run("distribute", "-w", str(root), "-q")
    assert result.exit_code in (0, 1), result.output
    names = sorted(p.name for p in (root / "outbox").iterdir())
    assert {"企画_調整課.xlsx", "統計課.xlsx", "CON.xlsx"} <= set(names)


def test_same_department_written_the_same_way_on_many_rows_is_one_department(tmp_path):
    plan = write_csv(tmp_path / "plan.csv", PLAN_HEADER,
                     TINY_PLAN + [extra("X1", "ＤＸ推進課"), extra("X2", "ＤＸ推進課 (職員課)")])
    assert load_plan(plan, load_template().department_rules).departments()[-1] == "ＤＸ推進課"


# --- CSV a person may open --------------------------------------------------------------------

FORMULA_LIKE = ["=cmd|' /C calc'!A0", "+81-3-1234-5678", "@SUM(A1:A9)", "-5%", "=", "+", "@", "\t=1+1",
                "\r=1+1", "'引用'のとおり", "''二つ", "'", "=HYPERLINK(\"http://example.com\",\"x\")"]
PLAIN = ["-", "−5%", "計画どおり", "", " =1", "ー", "a\r\nb", "行1\n行2", "'"[1:], "\ufeff先頭のBOM"]


@pytest.fixture(scope="module")
def tiny_plan_loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("plan")
    return load_plan(write_csv(root / "plan.csv", PLAN_HEADER, TINY_PLAN), load_template().department_rules)


def csv_cells(path: Path) -> dict[str, dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return {row["item_id"]: row for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))}


def test_formula_like_answers_are_neutralised_in_the_csv_and_read_back_unchanged(tiny_plan_loaded, tmp_path):
    texts = FORMULA_LIKE + PLAIN
    ids = [i.item_id for i in tiny_plan_loaded.answered_items()]
    cells_per_file = len(ids) * 4
    for start in range(0, len(texts), cells_per_file):
        chunk = texts[start:start + cells_per_file] + [""] * cells_per_file
        answers = {item_id: Answer(Status.BEHIND, *chunk[n * 4:(n + 1) * 4]) for n, item_id in enumerate(ids)}
        path = tmp_path / f"answers_{start}.csv"
        save_answers(path, tiny_plan_loaded, answers)
        cells = csv_cells(path)
        assert list(next(iter(cells.values()))) == ["item_id", "status", "reason", "results_to_date",
                                                    "plan_next_year", "plan_later", GUARD_COLUMN]
        for item_id, answer in answers.items():
            for field_name in ("reason", "results_to_date", "plan_next_year", "plan_later"):
                typed, written = getattr(answer, field_name), cells[item_id][field_name]
                if typed in FORMULA_LIKE:
                    assert written == "'" + typed, (item_id, field_name, written)
                else:
                    assert written == typed, (item_id, field_name, written)
        assert load_answers(path, tiny_plan_loaded) == answers


def every_item(plan, answers):
    return {item.item_id: answers.get(item.item_id, NO_ANSWER) for item in plan.answered_items()}


text_cells = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(text_cells, text_cells, text_cells, text_cells), min_size=5, max_size=5),
       st.sampled_from([*FORMULA_LIKE, "-", "−5%"]))
def test_any_text_survives_save_then_load(tiny_plan_loaded, tmp_path, cells, start):
    ids = [i.item_id for i in tiny_plan_loaded.answered_items()]
    answers = {item_id: Answer(Status.ON_SCHEDULE, start + a, b, start, d)
               for item_id, (a, b, _, d) in zip(ids, cells)}
    out = io.StringIO()
    write_answers(out, tiny_plan_loaded, answers)
    path = tmp_path / "answers.csv"
    path.write_bytes(out.getvalue().encode("utf-8"))
    assert load_answers(path, tiny_plan_loaded) == every_item(tiny_plan_loaded, answers)


def resave(path: Path, encoding: str) -> None:
    """What Excel does on "save as CSV": CR LF row ends, a BOM for "CSV UTF-8", cp932 for "CSV"."""
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp932", "utf-8"])
def test_the_answers_csv_resaved_by_excel_still_reads_back_unchanged(tiny_plan_loaded, tmp_path, encoding):
    answers = {"T1": Answer(Status.ON_SCHEDULE, "", "=1+1", "-", "'引用'"),
               "T4": Answer(Status.BEHIND, "@担当の異動", "▲5%", "-3%", "+1件")}  # all in cp932
    path = tmp_path / "answers_R3.csv"
    save_answers(path, tiny_plan_loaded, answers)
    resave(path, encoding)
    assert load_answers(path, tiny_plan_loaded) == every_item(tiny_plan_loaded, answers)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_an_answers_csv_written_before_is_read_as_it_is(tiny_plan_loaded, tmp_path, encoding):
    """No formula_guard header: every cell as written, leading apostrophes and all."""
    path = tmp_path / "answers_R3.csv"
    rows = [["T1", "◎", "", "'引用'のとおり", "=1+1", "-"], ["T4", "△", "@異動", "'=1", "-3%", "''"]]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([["item_id", "status", "reason", "results_to_date",
                                                      "plan_next_year", "plan_later"], *rows])
    path.write_bytes(text.getvalue().encode(encoding))
    got = load_answers(path, tiny_plan_loaded)
    assert got["T1"] == Answer(Status.ON_SCHEDULE, "", "'引用'のとおり", "=1+1", "-")
    assert got["T4"] == Answer(Status.BEHIND, "@異動", "'=1", "-3%", "''")


def test_the_bundled_sample_answers_still_load(sample):
    plan = load_plan(sample / "plan.csv", load_template().department_rules)
    answers = load_answers(sample / "answers_r3.csv", plan)
    assert len(answers) > 90 and not (sample / "answers_r3.csv").read_bytes().startswith(b"\xef\xbb\xbf")


TYPED = {"T4": {"status": "△", "reason": "=cmd|' /C calc'!A0", "results_to_date": "-5%（前年度比）",
                "plan_next_year": "-", "plan_later": "@担当課と調整"}}


def test_formula_like_answers_survive_consolidate_dry_run_and_rollover(tmp_path):
    ws, dist, _ = returned(tmp_path)
    fill_workbook(dist.files["職員課"], ws.inbox / file_of("職員課"), TYPED, ws.template, paste=True)
    result = run("consolidate", "-w", str(ws.root), "-q")
    assert result.exit_code in (0, 1), result.output
    cells = csv_cells(ws.answers_path())["T4"]
    assert cells["reason"] == "'=cmd|' /C calc'!A0" and cells["plan_later"] == "'@担当課と調整"
    assert cells["results_to_date"] == "'-5%（前年度比）" and cells["plan_next_year"] == "-"
    t4 = load_answers(ws.answers_path(), ws.plan)["T4"]
    assert (t4.reason, t4.results_to_date, t4.plan_next_year, t4.plan_later) == \
        ("=cmd|' /C calc'!A0", "-5%（前年度比）", "-", "@担当課と調整")
    assert_landed(ws, [d for d in GOOD if d != "職員課"])
    # The dry run compares against the CSV: the same inbox changes nothing.
    dry = run("consolidate", "-w", str(ws.root), "--dry-run")
    assert "前回の取りまとめから別紙1で変わるセル: 0件" in dry.output, dry.output
    # Rollover carries the answers as they were typed.
    r4, _ = rollover(ws, "R4", tmp_path / "r4")
    assert r4.previous.answers["T4"] == t4
    assert open_workspace(r4.root).previous.answers == load_answers(ws.answers_path(), ws.plan)


def test_rollover_writes_the_kpi_table_for_excel_and_reads_it_back(tmp_path, sample):
    kpis = write_csv(tmp_path / "kpis.csv", ["goal", "goal_title", "name", "owner", "year", "kind", "value", "note"], [
        ["1", "窓口", "予約率", "戸籍住民課", "R3", "実績", "-3.5%", "=前年度比"],
        ["1", "窓口", "予約率", "戸籍住民課", "R3", "目標", "+10%", "'注'"],
        ["1", "窓口", "待ち時間", "戸籍住民課", "R3", "実績", "-", ""],
    ])
    plan = write_csv(tmp_path / "plan.csv", PLAN_HEADER, TINY_PLAN)
    root = tmp_path / "ws"
    assert run("init", str(root), "--plan", str(plan), "--kpis", str(kpis), "--year", "R3").exit_code == 0
    ws = open_workspace(root)
    assert run("consolidate", "-w", str(root), "-q").exit_code in (0, 1)
    r4, _ = rollover(ws, "R4", tmp_path / "r4")
    written = (r4.root / r4.settings.kpis_file).read_bytes()
    assert written.startswith(b"\xef\xbb\xbfgoal,") and b"'-3.5%" in written and b"'=\xe5" in written
    assert written.count(b"\r\n") == written.count(b"\n") and b"\r\r" not in written
    old = {(k.goal, k.name): k for k in ws.kpis}
    for kpi in r4.kpis:
        assert set(old[(kpi.goal, kpi.name)].values) < set(kpi.values)
        assert kpi.note == old[(kpi.goal, kpi.name)].note
    assert load_kpis(r4.root / r4.settings.kpis_file) == r4.kpis


def test_restore_undoes_neutralise():
    for text in FORMULA_LIKE + PLAIN:
        assert restore(neutralise(text)) == text


def test_libreoffice_shows_the_answers_csv_as_text_not_formulas(tiny_plan_loaded, tmp_path):
    """The CSV opened in Calc: each formula-like answer is a text cell showing what was typed
    (behind one apostrophe), never a formula — as the same text written raw would be."""
    lo.require()  # skips where LibreOffice is missing, fails instead in CI
    answers = {"T1": Answer(Status.ON_SCHEDULE, "", "=1+1", "-", "=HYPERLINK(\"http://example.com\")"),
               "T4": Answer(Status.BEHIND, "@SUM(1,2)", "−5%", "+1+1", "-2+3")}
    guarded = tmp_path / "answers.csv"
    save_answers(guarded, tiny_plan_loaded, answers)
    raw = tmp_path / "raw.csv"  # the same answers written as before: the control that can fail
    raw.write_text("item_id,status,reason,results_to_date,plan_next_year,plan_later\n"
                   "T1,◎,,=1+1,-,\"=HYPERLINK(\"\"http://example.com\"\")\"\n", encoding="utf-8")
    soffice = Path(str(lo.soffice_path()))
    out = tmp_path / "xlsx"
    for source in (guarded, raw):
        code, detail = run_soffice([str(soffice), f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
                                    "--headless", "--norestore", "--nolockcheck", "--convert-to", "xlsx",
                                    "--infilter=CSV:44,34,76,1", "--outdir", str(out), str(source)],
                                   180, tmp_path / f"{source.stem}.log")
        assert (out / f"{source.stem}.xlsx").is_file(), (code, detail)
    as_raw = openpyxl.load_workbook(out / "raw.xlsx").active
    assert as_raw["D2"].data_type == "f"  # raw text becomes a formula: the danger is real
    sheet = openpyxl.load_workbook(out / "answers.xlsx").active
    header = [c.value for c in sheet[1]]
    seen = {}
    for row in sheet.iter_rows(min_row=2):
        assert all(c.data_type != "f" for c in row), [(c.coordinate, c.value) for c in row]
        item_id = row[0].value
        seen[item_id] = {header[c.column - 1]: c.value for c in row}
    assert seen["T1"]["results_to_date"] == "'=1+1" and seen["T1"]["plan_next_year"] == "-"
    assert seen["T4"]["reason"] == "'@SUM(1,2)" and seen["T4"]["results_to_date"] == "−5%"
    assert seen["T4"]["plan_later"] == "'-2+3"


def test_write_answers_on_a_stream_that_adds_its_own_bom_still_reads_back(tiny_plan_loaded, tmp_path):
    answers = {"T1": Answer(Status.ON_SCHEDULE, "", "=1+1", "-", "")}
    path = tmp_path / "answers.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        write_answers(f, tiny_plan_loaded, answers)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf\xef\xbb\xbfitem_id")
    assert load_answers(path, tiny_plan_loaded) == every_item(tiny_plan_loaded, answers)
