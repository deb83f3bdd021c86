"""Time nakano-xl against what users would do instead, side by side, in one run.

    python benchmarks/run.py                       # ward and prefecture
    python benchmarks/run.py --scales ward,prefecture,nation
    python benchmarks/run.py --nation 2000x200     # the nation's size (departments x rows)

For each scale it generates a synthetic survey (benchmarks/generate.py) and runs, each as a
fresh process on the same files: ``nakano-xl distribute``, the bare xlsxwriter distribute,
``nakano-xl consolidate``, the user's pandas script, the calamine + xlsxwriter floor, and
``nakano-xl check`` on one file. Wall time and peak memory (max RSS of the process) are
printed as a Markdown table; paste it into benchmarks/RESULTS.md with the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate

SCALES = {"ward": (40, 10), "prefecture": (400, 50), "nation": (2000, 200)}


def nakano_xl() -> list[str]:
    exe = shutil.which("nakano-xl")
    return [exe] if exe else [sys.executable, "-m", "nakano_xl"]


def measure(cmd: list[str], repeat: int = 1) -> tuple[float, float]:
    """Median wall seconds and peak RSS (MB) of a command run as its own process."""
    times, peaks = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if hasattr(os, "wait4"):
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            # ru_maxrss is in kilobytes on Linux
            peaks.append(usage.ru_maxrss / 1024)
        else:  # pragma: no cover - Windows: time only
            proc.wait()
        times.append(time.perf_counter() - start)
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    return statistics.median(times), max(peaks) if peaks else float("nan")


def run_scale(name: str, departments: int, rows: int, work: Path) -> dict[str, tuple[float, float]]:
    print(f"[{name}] generating {departments} departments x {rows} rows …", file=sys.stderr)
    ws = generate(work / name, departments, rows).root
    repeat = 3 if departments * rows <= 1000 else 1
    one = min((ws / "inbox").iterdir())
    steps = {
        "nakano-xl distribute": nakano_xl() + ["distribute", "-w", str(ws), "-q"],
        "bare xlsxwriter distribute": [sys.executable, str(HERE / "baselines.py"), "bare-distribute", str(ws),
                                       str(work / name / "bare_outbox")],
        "nakano-xl consolidate": nakano_xl() + ["consolidate", "-w", str(ws), "-q"],
        "user's script (pandas)": [sys.executable, str(HERE / "baselines.py"), "users-script", str(ws),
                                   str(work / name / "users.xlsx")],
        "floor (calamine + xlsxwriter)": [sys.executable, str(HERE / "baselines.py"), "floor", str(ws),
                                          str(work / name / "floor.xlsx")],
        "nakano-xl check (one file)": nakano_xl() + ["check", str(one), "-w", str(ws)],
    }
    results = {}
    for label, cmd in steps.items():
        print(f"[{name}] {label} …", file=sys.stderr)
        results[label] = measure(cmd, repeat)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="ward,prefecture")
    parser.add_argument("--nation", default="2000x200", help="departments x rows of the nation scale")
    parser.add_argument("--keep", type=Path, help="keep the generated files here")
    args = parser.parse_args()
    d, r = (int(x) for x in args.nation.split("x"))
    SCALES["nation"] = (d, r)
    work = args.keep or Path(tempfile.mkdtemp(prefix="nakano-bench-"))
    table = {}
    for name in args.scales.split(","):
        departments, rows = SCALES[name]
        table[f"{name} ({departments} files x {rows} rows)"] = run_scale(name, departments, rows, work)
    print(f"\nMachine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs\n")
    scales = list(table)
    print("| step | " + " | ".join(scales) + " |")
    print("|---|" + "---|" * len(scales))
    for label in next(iter(table.values())):
        cells = [f"{table[s][label][0]:.2f} s, {table[s][label][1]:.0f} MB" for s in scales]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    for s in scales:
        t = {k: v[0] for k, v in table[s].items()}
        users = t["user's script (pandas)"]
        print(f"- {s}: consolidate is {users / t['nakano-xl consolidate']:.1f}x "
              f"faster than the user's script, {t['nakano-xl consolidate'] / t['floor (calamine + xlsxwriter)']:.2f}x "
              f"the floor; distribute is {t['nakano-xl distribute'] / t['bare xlsxwriter distribute']:.2f}x the bare write")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
