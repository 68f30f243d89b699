"""Hostile inputs against ``python -m qa index``: time, peak memory and messages.

Copies ``corpus/`` to a temporary folder, builds its index once (real model),
then runs the incremental ``python -m qa index`` with nothing changed (the
baseline) and with each hostile file added in turn: the alias bomb of issue 11
(and one level more), links leaving the corpus, a DOCX zip bomb, deeply nested
HTML, a PDF over the page limit, oversized or deeply nested front matter and
runaway BibTeX. Each run is a fresh process; wall time and peak RSS (GNU time)
are the medians of ``--repeat`` runs. Prints a Markdown table for
``docs/reliability.md``.

Usage::

    python bench/hostile.py                     # about 2 minutes on 2 idle cores
    python bench/hostile.py --only alias_bomb_8 --qa-src /tmp/qa-old   # another version of qa/
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/hostile.py`: import bench and qa from this work tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import CORPUS, ROOT  # noqa: E402
from bench.report import table  # noqa: E402
from bench.timing import log, python_env, run_timed  # noqa: E402
from tests.test_formats import pdf_file  # noqa: E402  (the PDF writer the format tests use)

OUTSIDE_FILE = Path("/etc/passwd")


def alias_bomb(levels: int) -> str:
    """Front matter whose nine-way aliases expand to 9**levels values once copied out."""
    lines = ["---", "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    names = "abcdefghijklmnopqrstuvwxyz"
    for i in range(1, levels + 1):
        lines.append(f"{names[i]}: &{names[i]} [" + ",".join([f"*{names[i - 1]}"] * 9) + "]")
    return "\n".join(lines) + "\n---\nlol\n"


def zip_bomb_docx(member_mb: int = 300) -> bytes:
    """A valid .docx plus one member of ``member_mb`` MB of zeros (about 0.3 MB compressed)."""
    import docx

    buf = io.BytesIO()
    d = docx.Document()
    d.add_paragraph("An innocent paragraph.")
    d.save(buf)
    with zipfile.ZipFile(buf, "a", compression=zipfile.ZIP_DEFLATED) as z, z.open("word/media/zeros.bin", "w") as f:
        block = b"\0" * (1 << 20)
        for _ in range(member_mb):
            f.write(block)
    return buf.getvalue()


def many_pages_pdf(pages: int) -> bytes:
    """A PDF of ``pages`` pages that all share one small content stream."""
    stream = b"BT /F1 12 Tf 20 100 Td (lol) Tj ET"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream",
    ]
    page = (
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 3 0 R >> >> >>"
    )
    objs += [page] * pages
    objs[1] = f"<< /Type /Pages /Kids [{' '.join(f'{i} 0 R' for i in range(5, 5 + pages))}] /Count {pages} >>"
    return pdf_file(objs)


def _write(name: str, data: str | bytes) -> Callable[[Path], list[str]]:
    def make(corpus: Path) -> list[str]:
        path = corpus / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return [name]

    return make


def _links(corpus: Path) -> list[str]:
    (corpus / "passwd.txt").symlink_to(OUTSIDE_FILE)
    (corpus / "etc_folder").symlink_to(OUTSIDE_FILE.parent, target_is_directory=True)
    return ["passwd.txt", "etc_folder"]


def scenarios(levels: list[int]) -> dict[str, tuple[str, Callable[[Path], list[str]]]]:
    out: dict[str, tuple[str, Callable[[Path], list[str]]]] = {}
    for n in levels:
        bomb = alias_bomb(n)
        out[f"alias_bomb_{n}"] = (
            f"alias bomb, {n} levels x 9 aliases ({len(bomb)} bytes, 9^{n} values)",
            _write(f"alias_bomb_{n}.md", bomb),
        )
    out |= {
        "links": ("passwd.txt -> /etc/passwd, etc_folder -> /etc", _links),
        "docx_zip_bomb": ("DOCX with a 300 MB member of zeros", _write("zip_bomb.docx", zip_bomb_docx())),
        "deep_html": (
            "HTML nested 100,000 <div>s deep",
            _write("deep.html", "<html><body>" + "<div>" * 100_000 + "lol" + "</div>" * 100_000),
        ),
        "pdf_pages": ("PDF of 6,000 pages (limit 5,000)", _write("pages.pdf", many_pages_pdf(6_000))),
        "big_front_matter": (
            "100 KB front matter (limit 64 KB)",
            _write("big_front.md", "---\ntitle: " + "x" * 100_000 + "\n---\nlol\n"),
        ),
        "deep_yaml": (
            "front matter nested 5,000 [ deep",
            _write("deep_yaml.md", "---\na: " + "[" * 5_000 + "]" * 5_000 + "\n---\nlol\n"),
        ),
        "bibtex_braces": (
            "BibTeX entry with 200,000 unclosed {",
            _write("braces.bib", "@article{x, title = " + "{" * 200_000),
        ),
    }
    return out


def read_cost(corpus: Path, names: list[str]) -> tuple[float, float]:
    """Seconds and peak traced Python allocation (MB) of ``read_document`` on these files, in this process.

    Free of the noise of a whole ``qa index`` run on a shared machine; tracemalloc
    sees Python objects only, not memory allocated inside C libraries (lxml).
    """
    from qa.errors import UnreadableDocumentError
    from qa.ingest import read_document

    tracemalloc.start()
    t0 = time.perf_counter()
    for name in names:
        with contextlib.suppress(UnreadableDocumentError):  # refusing is the expected outcome
            read_document(corpus / name, corpus)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds, peak


def qa_index(corpus: Path, index: Path, src: Path, repeat: int) -> tuple[float, float, str, str]:
    # `python -m` puts the working folder first on sys.path: it decides which qa/ runs.
    env = python_env() | {"PYTHONPATH": str(src)}
    cmd = [sys.executable, "-m", "qa", "index", "--corpus", str(corpus), "--index", str(index)]
    runs = [run_timed(cmd, cwd=src, env=env) for _ in range(repeat)]
    return (
        statistics.median(r.wall for r in runs),
        statistics.median(r.max_rss_mb for r in runs),
        runs[-1].stdout,
        runs[-1].stderr,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (median)")
    parser.add_argument("--levels", type=int, nargs="+", default=[8, 9], help="alias-bomb depths to try")
    parser.add_argument("--only", nargs="+", default=None, help="scenario names to run")
    parser.add_argument(
        "--qa-src",
        type=Path,
        default=None,
        help="folder holding another version's qa/ package (e.g. from `git archive`)",
    )
    args = parser.parse_args()
    src = (args.qa_src or ROOT).resolve()
    todo = scenarios(args.levels)
    if args.only:
        todo = {k: v for k, v in todo.items() if k in args.only}
    with tempfile.TemporaryDirectory(prefix="qa-hostile-") as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        shutil.copytree(CORPUS, corpus)
        log("building the index of a copy of corpus/")
        qa_index(corpus, index, src, 1)
        base_wall, base_rss, out, _ = qa_index(corpus, index, src, args.repeat)
        log(f"baseline: {base_wall:.2f} s, {base_rss:.0f} MB; {out.splitlines()[0]}")
        messages: list[str] = []
        rows = [
            (
                "nothing changed (baseline)",
                f"{base_wall:.2f}",
                "",
                f"{base_rss:.0f}",
                "",
                "",
                "",
                out.split(" documents")[0].removeprefix("indexed "),
                "",
            )
        ]
        for key, (label, make) in todo.items():
            names = make(corpus)
            wall, rss, out, err = qa_index(corpus, index, src, args.repeat)
            read_s, read_mb = read_cost(corpus, names) if src == ROOT.resolve() else (float("nan"), float("nan"))
            docs = out.split(" documents")[0].removeprefix("indexed ")
            said = [line for line in err.splitlines() if any(line.startswith(f"skipped {n}:") for n in names)]
            message = " / ".join(said) if said else "(no message: indexed)"
            if key == "links":
                show = subprocess.run(
                    [sys.executable, "-m", "qa", "show", "passwd", "--corpus", str(corpus), "--index", str(index)],
                    cwd=src,
                    env=python_env() | {"PYTHONPATH": str(src)},
                    capture_output=True,
                    text=True,
                )
                message += f" / `qa show passwd`: exit {show.returncode}, {show.stderr.strip()}"
            log(f"{key}: {wall:.2f} s, {rss:.0f} MB, {docs} documents; {message[:160]}")
            messages.append(f"- {label}: {message}")
            short = said[0].split(": ", 2)[-1] if said else message
            rows.append(
                (
                    label,
                    f"{wall:.2f}",
                    f"{wall - base_wall:+.2f}",
                    f"{rss:.0f}",
                    f"{round(rss - base_rss):+d}",
                    f"{read_s * 1000:.1f}",
                    f"{read_mb:.2f}",
                    docs,
                    (short[:90] + ("…" if len(short) > 90 else "")).replace("|", "\\|"),
                )
            )
            for n in names:
                (corpus / n).unlink()
    print()
    print(
        table(
            [
                "input added to corpus/",
                "`qa index` s",
                "extra s",
                "peak RSS MB",
                "extra MB",
                "reading the file: ms",
                "MB allocated",
                "documents indexed",
                "what it said",
            ],
            rows,
        )
    )
    print()
    print("\n".join(messages))


if __name__ == "__main__":
    main()
