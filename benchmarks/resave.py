"""The generated returns as other programs save them: the shapes in which returns really arrive.

    python benchmarks/resave.py SOURCE_WS TARGET_WS libreoffice|openpyxl

The generator writes every return with xlsxwriter (what distribute writes, answers typed in).
Departments send back what their spreadsheet program saved, and that is laid out otherwise:
LibreOffice writes shared strings, its own styles and a new ``docProps``; openpyxl rewrites
every part. ``TARGET_WS`` becomes a copy of ``SOURCE_WS`` whose inbox holds every return re-saved:

- **libreoffice**: ``soffice --headless --convert-to xlsx`` (Calc's own xlsx filter), one soffice
  run for all files with a profile of its own; files go through ASCII names, as soffice under a
  C locale cannot open 第0001課_回答.xlsx.
- **openpyxl**: ``load_workbook`` + ``save``, on every CPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

SHAPES = ("xlsxwriter", "libreoffice", "openpyxl")


def copy_workspace(source: Path, target: Path) -> list[Path]:
    """``target`` as a copy of ``source`` with an empty inbox; the returns to re-save into it."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("inbox", "output"))
    (target / "inbox").mkdir()
    (target / "output").mkdir()
    return sorted((source / "inbox").glob("*.xlsx"))


def with_libreoffice(files: list[Path], inbox: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise SystemExit("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc")
    with tempfile.TemporaryDirectory(prefix="nakano-resave-") as tmp_name:
        tmp = Path(tmp_name)
        source, out = tmp / "in", tmp / "out"
        source.mkdir()
        names = {}
        for n, path in enumerate(files):
            ascii_name = f"r{n:05d}.xlsx"
            shutil.copyfile(path, source / ascii_name)
            names[ascii_name] = path.name
        # One soffice run per batch of files: one start for many, a command line of sane
        # length. A long batch now and then leaves a file out without a word (soffice exits 0
        # even then): what is missing goes again, in smaller batches.
        for size in (400, 20, 1):
            missing = sorted(name for name in names if not (out / name).is_file())
            for start in range(0, len(missing), size):
                subprocess.run([soffice, f"-env:UserInstallation={(tmp / 'profile').as_uri()}", "--headless",
                                "--norestore", "--convert-to", "xlsx", "--outdir", str(out),
                                *[str(source / name) for name in missing[start:start + size]]],
                               check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600)
        for ascii_name, name in names.items():
            converted = out / ascii_name
            if not converted.is_file():  # soffice exits 0 even when it wrote nothing
                raise SystemExit(f"LibreOffice did not convert {name}")
            shutil.copyfile(converted, inbox / name)


def _openpyxl_resave(paths: tuple[Path, Path]) -> None:
    import openpyxl

    source, target = paths
    openpyxl.load_workbook(source).save(target)


def with_openpyxl(files: list[Path], inbox: Path) -> None:
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(_openpyxl_resave, [(path, inbox / path.name) for path in files], chunksize=8))


def resave(source: Path, target: Path, shape: str) -> None:
    files = copy_workspace(source, target)
    {"libreoffice": with_libreoffice, "openpyxl": with_openpyxl}[shape](files, target / "inbox")


def main() -> None:
    source, target, shape = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    resave(source, target, shape)


if __name__ == "__main__":
    main()
