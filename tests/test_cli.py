import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qa.cli import COMMANDS, main, make_parser

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tiny_corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("QA_CORPUS", str(tiny_corpus))
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "idx"))
    monkeypatch.setenv("QA_MODEL", "hash:128")
    return tiny_corpus, tmp_path / "idx"


@pytest.fixture(autouse=True)
def priorities(monkeypatch) -> list[int]:
    """The niceness ``qa index`` asks for, recorded instead of applied to the test process."""
    asked: list[int] = []
    monkeypatch.setattr(os, "getpriority", lambda which, who: 0)
    monkeypatch.setattr(os, "setpriority", lambda which, who, value: asked.append(value))
    return asked


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_help(command, capsys):
    parser = make_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sub.choices[command].description or sub.choices[command].format_help()
    assert any(ch.dest == command and ch.help for ch in sub._choices_actions)
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_a_usage_error_names_the_help_command_to_run(capsys):
    # The hint said "python -m qa qa --help" for an unknown subcommand.
    for argv, hint in ((["frobnicate"], "`python -m qa --help`"), (["show"], "`python -m qa show --help`")):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert capsys.readouterr().err.rstrip().endswith(f"(see {hint})")


def test_ask_builds_missing_index_and_answers_json(env, capsys):
    code, out, err = run(capsys, "ask", "--json", "Who wrote about anti-satellite weapons?", "zzzz qqqq")
    assert code == 0
    assert "building it" in err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert {"question", "answer", "abstained", "confidence", "citations", "passages", "explain"} <= first.keys()
    assert first["answer"].startswith("Hart, B. L. (2007)") and not first["abstained"]
    c = first["citations"][0]
    assert {"n", "doc_id", "title", "locator", "metadata", "quote", "start", "end", "score"} <= c.keys()
    assert {"doc_id", "chunk_id", "text", "start", "end", "score"} <= first["passages"][0].keys()
    assert second["abstained"] and second["answer"] == "" and second["citations"] == []
    assert first["note"] is None and second["note"] is None  # nothing to say besides


def test_ask_json_note_is_what_the_text_output_says_besides_the_answer():
    # A user test: "No passage found is under Article XXV …" was in the text output only.
    from qa.cli import answer_json, format_answer
    from qa.types import Answer

    refused = Answer("What does Article XXV say?", "", True, 0.2, (), (), {"missing_article": "Article XXV"})
    obj = json.loads(json.dumps(answer_json(refused)))
    assert obj["note"].startswith("No passage found is under Article XXV") and obj["note"] in format_answer(refused)
    assert Answer.from_dict(obj) == refused  # the extra key does not break reading it back


def test_ask_text_output(env, capsys):
    run(capsys, "index")
    code, out, _ = run(capsys, "ask", "Which treaty article forbids nuclear weapons in orbit around the earth?")
    assert code == 0 and "[1]" in out and "Article II" in out
    # Runners-up come after the answer and its citations, labelled as not the answer.
    assert out.index("[1]") < out.index("Runners-up (not the answer):")
    code, out, _ = run(capsys, "ask", "zzzz qqqq")  # nothing scores near it: no sentences are offered
    assert "The corpus does not answer this." in out and "Nothing in the corpus comes close" in out
    assert "Closest sentences" not in out


def test_an_abstention_lists_its_closest_sentences_as_not_an_answer():
    from qa.cli import format_answer
    from qa.types import Answer, Citation

    near = Citation(1, "treaty", "Treaty", "Treaty › Article I", "Outer space   shall be free.", 0, 28, 0.2)
    out = format_answer(Answer("Is space free?", "", True, 0.3, (), (), closest=(near,)))
    assert out.splitlines()[1:] == [
        "The corpus does not answer this. (confidence 0.30)",
        "Closest sentences (not an answer):",
        "  - Treaty › Article I: “Outer space shall be free.” (treaty chars 0–28)",
    ]


def test_a_citation_of_a_file_deleted_since_indexing_is_marked(env, capsys):
    corpus, _ = env
    run(capsys, "index")
    question = "Which treaty article forbids nuclear weapons in orbit around the earth?"
    code, out, _ = run(capsys, "ask", question)
    assert "[1]" in out and "missing since indexing" not in out
    cited = next(line for line in out.splitlines() if line.startswith("  [1]")).split(" — ")[1].split()[0]
    next(p for p in corpus.iterdir() if p.stem == cited).unlink()
    code, out, _ = run(capsys, "ask", question)
    assert code == 0 and "[source file changed or missing since indexing]" in out


def test_index_runs_below_normal_priority_unless_told(env, capsys, priorities, monkeypatch):
    assert run(capsys, "index")[0] == 0
    assert priorities and set(priorities) == {10}  # every thread of the process
    asked = len(priorities)
    assert run(capsys, "index", "--nice", "0")[0] == 0
    monkeypatch.setattr(os, "getpriority", lambda which, who: 15)  # already nicer: left as it is
    assert run(capsys, "index")[0] == 0
    assert len(priorities) == asked


def test_index_reports_counts(env, capsys):
    code, out, _ = run(capsys, "index")
    assert code == 0 and "indexed 3 documents" in out and "added 3" in out
    code, out, _ = run(capsys, "index")
    assert "unchanged 3" in out and "0 vectors embedded" in out


def test_show_and_sources(env, capsys):
    run(capsys, "index")
    code, out, _ = run(capsys, "show", "treaty", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["doc_id"] == "treaty" and doc["metadata"]["date"] == "1967"
    assert doc["text"].startswith("# Treaty")
    code, out, _ = run(capsys, "sources", "--json")
    recs = [json.loads(line) for line in out.splitlines()]
    refs = [r for r in recs if r["type"] == "reference"]
    assert len(refs) == 3 and refs[0]["authors"] == ["Hart, B. L."]
    code, out, _ = run(capsys, "sources")
    assert "Hart, B. L. (2007)" in out


def test_sources_flags_unparsed_records(env, capsys):
    corpus, _ = env
    path = corpus / "article.md"
    path.write_text(path.read_text() + "\nwww. (16.11.2017). (16.11.2017).\n")
    run(capsys, "index")
    _, out, _ = run(capsys, "sources")
    assert "FLAGGED" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["ask", "   "], "empty"),
        (["ask", "x" * 2001], "2,000"),
        (["ask", "-k", "0", "what?"], "out of range"),
        (["ask", "-k", "101", "what?"], "out of range"),
        (["show", "nope"], "no document"),
        (["ask", "--bogus", "q"], "unrecognized"),
    ],
)
def test_bad_usage_exits_2_with_one_line(env, capsys, argv, message):
    run(capsys, "index")
    code, out, err = run_exit(capsys, argv)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def run_exit(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_missing_and_empty_corpus(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QA_MODEL", "hash")
    code, _, err = run_exit(capsys, ["index", "--corpus", str(tmp_path / "none"), "--index", str(tmp_path / "i")])
    assert code == 2 and "does not exist" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run_exit(
        capsys, ["ask", "--corpus", str(tmp_path / "empty"), "--index", str(tmp_path / "i"), "what?"]
    )
    assert code == 2 and "no readable documents" in err


def test_corrupt_index_exits_2(env, capsys):
    _, idx = env
    run(capsys, "index")
    build = idx / (idx / "CURRENT").read_text().strip()
    (build / "index.faiss").write_bytes(b"junk")
    code, _, err = run_exit(capsys, ["ask", "what?"])
    assert code == 2 and "corrupt" in err and "python -m qa index" in err


def test_eval_command(env, capsys, tmp_path):
    qs = tmp_path / "qs.jsonl"
    qs.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"question": "Who wrote about anti-satellite weapons?", "gold": ["Hart, B. L."], "answerable": True},
                {"question": "zzzz qqqq", "gold": [], "answerable": False},
            ]
        )
    )
    code, out, _ = run(capsys, "eval", str(qs), "--json")
    report = json.loads(out)
    assert code == 0 and report["questions"] == 2
    assert report["answer_hit"] == 1.0 and report["abstention_accuracy"] == 1.0
    assert report["citation_exactness"] == 1.0
    code, out, _ = run(capsys, "eval", str(qs))
    assert "answer hit" in out and "citation exactness" in out
    # A user test: a set without unanswerable questions printed "abstention accuracy 0.000".
    qs.write_text(qs.read_text().splitlines()[0] + "\n")
    code, out, _ = run(capsys, "eval", str(qs))
    line = next(ln for ln in out.splitlines() if ln.startswith("abstention accuracy"))
    assert code == 0 and line.endswith("n/a (no such questions)")


def test_add_remove_verify(env, capsys, tmp_path):
    corpus, _ = env
    run(capsys, "index")
    code, out, _ = run(capsys, "verify")
    assert code == 0 and out.startswith("ok")
    new = tmp_path / "incoming" / "registration.md"
    new.parent.mkdir()
    new.write_text("# Registration\n\nEach launching State shall maintain a registry of space objects.\n")
    code, out, _ = run(capsys, "add", str(new))
    assert code == 0 and (corpus / "registration.md").exists() and "added 1" in out
    (corpus / "notes.txt").write_text("changed text\n")
    code, out, _ = run(capsys, "verify")
    assert code == 1 and "stale: notes" in out
    code, out, _ = run(capsys, "remove", "registration")
    assert code == 0 and not (corpus / "registration.md").exists() and "removed 1" in out


def test_add_of_a_file_already_in_the_corpus_copies_and_embeds_nothing(env, capsys, tmp_path):
    # A user test: a byte-identical file was reported as "copied 1 file(s)", and a refused one
    # was followed by a full index summary.
    corpus, _ = env
    run(capsys, "index")
    same = tmp_path / "notes.txt"
    same.write_bytes((corpus / "notes.txt").read_bytes())
    code, out, err = run(capsys, "add", str(same))
    assert code == 0 and "copied 0 file(s)" in out and "1 already there, unchanged" in out
    assert f"unchanged {same}" in err and "; 0 vectors embedded" in out  # nothing embedded again
    # A file an interrupted `qa add` left in the corpus unindexed is indexed by adding it again.
    late = tmp_path / "late.md"
    late.write_text("# Late\n\nA document copied before the add was interrupted.\n")
    (corpus / "late.md").write_bytes(late.read_bytes())
    code, out, _ = run(capsys, "add", str(late))
    assert code == 0 and "1 already there, unchanged" in out and "(added 1," in out
    other = tmp_path / "other" / "notes.txt"
    other.parent.mkdir()
    other.write_text("Other content under the same name.\n")
    code, out, err = run(capsys, "add", str(other))
    assert code == 1 and "1 not added" in out and "indexed" not in out


@pytest.mark.parametrize("size", ["0", "0.0000001", "inf", "nan", "big"])
def test_index_max_mb_must_be_a_size_above_zero(env, capsys, size):
    code, _, err = run_exit(capsys, ["index", "--max-mb", size])
    assert code == 2 and "above 0" in err and "Traceback" not in err


def test_add_works_with_a_relative_corpus_folder(env, capsys, tmp_path, monkeypatch):
    # The default corpus is the relative `corpus/`; `qa add` once crashed on it with a traceback.
    corpus, _ = env
    monkeypatch.chdir(corpus.parent)
    monkeypatch.setenv("QA_CORPUS", corpus.name)
    new = tmp_path / "registration.md"
    new.write_text("# Registration\n\nEach launching State shall maintain a registry of space objects.\n")
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"\x7fELF\x02\x01\x01\x00" * 300)
    code, out, err = run(capsys, "add", str(new))
    assert code == 0 and (corpus / "registration.md").exists() and "copied 1 file" in out
    code, out, err = run(capsys, "add", str(bad), "--replace")  # refused cleanly, not a traceback
    assert code == 1 and "not added" in err and "Traceback" not in err


def test_verify_finds_index_files_damaged_without_changing_size(env, capsys):
    _, index = env
    run(capsys, "index")
    code, out, _ = run(capsys, "verify")
    assert code == 0 and "index files intact" in out
    from qa.index import current_build

    bounds = current_build(index) / "span_bounds.npy"
    data = bytearray(bounds.read_bytes())
    data[-1] ^= 0x01  # one bit of the last span's end: loads fine, cites wrong characters
    bounds.write_bytes(bytes(data))
    code, out, _ = run(capsys, "verify")
    assert code == 1 and "damaged: span_bounds.npy" in out and "--full" in out
    run(capsys, "index", "--full")
    assert run(capsys, "verify")[0] == 0


def test_python_dash_m_entry_point(env):
    proc = subprocess.run(
        [sys.executable, "-m", "qa", "ask", ""], cwd=REPO, capture_output=True, text=True, env={**os.environ}
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error:")


def test_index_summary_lists_chunk_counts_per_document(env, capsys):
    corpus, _ = env
    code, out, _ = run(capsys, "index")
    lines = out.splitlines()
    for doc_id in ("article", "notes", "treaty"):
        assert any(line.strip().startswith(f"added {doc_id}: ") and " chunk" in line for line in lines)
    assert "  added notes: 1 chunk\n" in out and "largest: article (4 chunks), treaty (3 chunks)" in out
    (corpus / "big.txt").write_text("Orbital debris is a risk for satellites. " * 200)
    code, out, _ = run(capsys, "index")
    [line] = [line for line in out.splitlines() if "added big" in line]
    n = int(line.split(": ")[1].split()[0])
    assert n > 5 and f"largest: big ({n} chunks)" in out
    assert "added article" not in out  # unchanged documents are only counted in the totals


def test_chunk_summary_is_capped():
    from qa.cli import SUMMARY_LINES, chunk_summary
    from qa.index import BuildStats

    ids = tuple(f"d{i:02d}" for i in range(SUMMARY_LINES + 5))
    stats = BuildStats(
        documents=len(ids),
        chunks=0,
        added=ids,
        updated=(),
        removed=(),
        unchanged=(),
        embedded=0,
        seconds=0.0,
        chunk_counts={d: i for i, d in enumerate(ids)},
    )
    lines = chunk_summary(stats)
    assert lines[:2] == ["added d00: 0 chunks", "added d01: 1 chunk"]
    assert lines[SUMMARY_LINES] == "... and 5 more added or updated"
    assert lines[-1] == "largest: d24 (24 chunks), d23 (23 chunks), d22 (22 chunks)"


def test_index_with_an_alias_bomb_indexes_the_rest(env, capsys):
    from tests.test_ingest import alias_bomb

    corpus, _ = env
    (corpus / "bomb.md").write_text(alias_bomb(), encoding="utf-8")
    code, out, err = run(capsys, "index")
    assert code == 0 and "indexed 3 documents" in out
    assert "skipped bomb.md: its YAML front matter was refused: it uses the YAML alias *a0" in err


def test_links_leaving_the_corpus_are_neither_indexed_nor_shown(env, capsys, tmp_path):
    corpus, _ = env
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (corpus / "passwd.txt").symlink_to(secret)
    code, out, err = run(capsys, "index")
    assert code == 0 and "indexed 3 documents" in out
    assert f"skipped passwd.txt: it is a symbolic link to {secret.resolve()}, outside" in err
    code, _, err = run(capsys, "show", "passwd")
    assert code == 2 and "no document 'passwd'" in err
    # A document indexed as a regular file that is later swapped for an outward link is not shown either.
    (corpus / "notes.txt").unlink()
    (corpus / "notes.txt").symlink_to(secret)
    code, out, err = run(capsys, "show", "notes")
    assert code == 2 and out == "" and "notes.txt: it is a symbolic link to" in err
    code, out, _ = run(capsys, "show", "treaty")
    assert code == 0 and "Article I" in out


def test_add_replaces_a_link_in_the_corpus_instead_of_writing_through_it(env, capsys, tmp_path):
    corpus, _ = env
    victim = tmp_path / "victim.md"
    victim.write_text("# Victim\n\nThis file is outside the corpus and must not change.\n")
    (corpus / "paper.md").symlink_to(victim)
    new = tmp_path / "incoming" / "paper.md"
    new.parent.mkdir()
    new.write_text("# Paper\n\nSpace traffic management needs shared data on orbits.\n")
    code, out, err = run(capsys, "add", str(new))
    assert code == 0 and "added paper: 1 chunk" in out
    assert victim.read_text().startswith("# Victim")
    assert not (corpus / "paper.md").is_symlink() and (corpus / "paper.md").read_text().startswith("# Paper")


def test_add_never_replaces_a_document_with_an_unreadable_file(env, capsys, tmp_path):
    corpus, _ = env
    run(capsys, "index")
    good = (corpus / "notes.txt").read_bytes()
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "notes.txt").write_bytes(b"\x7fELF\x02\x01\x01\x00" * 300)  # a binary under the same name
    code, out, err = run(capsys, "add", str(incoming / "notes.txt"), "--replace")
    assert code == 1 and "not added" in err and "notes.txt" in err and ".add-" not in err
    assert (corpus / "notes.txt").read_bytes() == good
    assert not [p.name for p in corpus.iterdir() if p.name.startswith(".add-")]  # no temporary left behind
    code, out, _ = run(capsys, "ask", "--json", "zzzz")
    assert code == 0  # the index still serves


def test_add_replaces_a_document_of_the_same_name_only_when_told(env, capsys, tmp_path):
    corpus, _ = env
    run(capsys, "index")
    good = (corpus / "notes.txt").read_text()
    update = tmp_path / "notes.txt"
    update.write_text("Orbital debris mitigation guidelines were adopted in 2007.\n")
    code, out, err = run(capsys, "add", str(update))
    assert code == 1 and "already exists with other content; pass --replace" in err
    assert (corpus / "notes.txt").read_text() == good
    code, out, err = run(capsys, "add", str(update), "--replace")
    assert code == 0 and (corpus / "notes.txt").read_text() == update.read_text()


def test_add_refuses_a_file_whose_document_id_is_taken_and_copies_nothing_on_a_missing_path(env, capsys, tmp_path):
    # A user test: notes.html next to notes.txt made the index unloadable, and `qa remove`
    # then deleted the original; a typo in the last path left the first copied, unindexed.
    corpus, _ = env
    run(capsys, "index")
    page = tmp_path / "notes.html"
    page.write_text("<html><body><p>Another page about notes and debris.</p></body></html>")
    code, out, err = run(capsys, "add", str(page))
    assert code == 1 and "same document id 'notes'" in err and not (corpus / "notes.html").exists()
    code, out, err = run(capsys, "ask", "What is a growing risk for satellites?")
    assert code == 0
    fresh = tmp_path / "fresh.md"
    fresh.write_text("# Fresh\n\nA new document.\n")
    code, out, err = run(capsys, "add", str(fresh), str(tmp_path / "no_such_file.md"))
    assert code == 2 and "nothing was added" in err and not (corpus / "fresh.md").exists()


def test_add_folder_skips_links_leaving_it(env, capsys, tmp_path):
    corpus, _ = env
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "keep.md").write_text("# Keep\n\nLaunch licensing rules differ between States.\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0\n")
    (folder / "passwd.txt").symlink_to(secret)
    code, out, err = run(capsys, "add", str(folder))
    assert code == 0 and "copied 1 file(s)" in out
    assert f"skipped {folder / 'passwd.txt'}: it is a symbolic link to {secret.resolve()}, outside" in err
    assert (corpus / "papers" / "keep.md").is_file() and not (corpus / "papers" / "passwd.txt").exists()


def test_ask_markdown_prints_the_footnoted_export(env, capsys):
    code, out, _ = run(capsys, "ask", "--markdown", "Who wrote about anti-satellite weapons?")
    assert code == 0
    assert out.startswith("**Question:** Who wrote about anti-satellite weapons?")
    assert re.search(r"^> Hart, B\. L\. \(2007\)\..* \[\^1\]$", out, re.M)
    footnote = next(line for line in out.splitlines() if line.startswith("[^1]:"))
    assert "Space diplomacy notes › Reference 1, characters" in footnote and "`article`" in footnote
    assert "Hart, B. L. (2007). Anti-satellite weapons" in footnote


def test_ask_markdown_keeps_footnotes_of_several_answers_apart(env, capsys):
    code, out, _ = run(
        capsys,
        "ask",
        "--markdown",
        "Who wrote about anti-satellite weapons?",
        "zzzz qqqq",
        "Which treaty article forbids nuclear weapons in orbit around the earth?",
    )
    assert code == 0 and out.count("**Question:**") == 3
    assert "[^q1-1]:" in out and "[^q3-1]:" in out and "[^1]" not in out
    assert "*The corpus does not answer this*" in out
    code, _, err = run_exit(capsys, ["ask", "--markdown", "--json", "what?"])
    assert code == 2 and "not allowed with" in err


def test_show_span_checks_a_citation_against_the_current_file(env, capsys):
    corpus, _ = env
    _, out, _ = run(capsys, "ask", "--json", "Which treaty article forbids nuclear weapons in orbit around the earth?")
    cite = json.loads(out)["citations"][0]
    assert cite["doc_id"] == "treaty"
    span = f"{cite['start']}:{cite['end']}"

    code, out, _ = run(capsys, "show", cite["doc_id"], "--span", span)
    # Offsets alone are "as indexed", not "Verified": a user test re-indexed an edited file and
    # was told an old link's span was verified while it held other text.
    assert code == 0 and out.startswith("ok: Characters") and "cannot be checked against the text first cited" in out
    assert f"“{cite['quote']}”" in out
    code, out, _ = run(capsys, "show", cite["doc_id"], "--span", span, "--quote", cite["quote"])
    assert code == 0 and out.startswith("ok: Verified")

    path = corpus / "treaty.md"
    path.write_text(path.read_text().replace("# Treaty", "# Preface\n\n# Treaty", 1))
    code, out, _ = run(capsys, "show", cite["doc_id"], "--span", span)
    assert code == 1 and out.startswith("error: The source file changed") and "no longer at" in out
    assert f"“{cite['quote']}”" in out  # shown where it stands now

    code, _, err = run_exit(capsys, ["show", cite["doc_id"], "--span", "9:x"])
    assert code == 2 and "START:END" in err
    code, _, err = run_exit(capsys, ["show", cite["doc_id"], "--span", "0:999999"])
    assert code == 2 and "lies outside" in err
    for empty in ("500:100", "10:10"):  # a user test: "lies outside" and "Verified" for these
        code, _, err = run_exit(capsys, ["show", cite["doc_id"], "--span", empty])
        assert code == 2 and "empty span" in err


def test_show_compares_a_given_quote_and_warns_about_a_changed_file(env, capsys):
    corpus, _ = env
    _, out, _ = run(capsys, "ask", "--json", "Which treaty article forbids nuclear weapons in orbit around the earth?")
    cite = json.loads(out)["citations"][0]
    span = f"{cite['start']}:{cite['end']}"
    code, out, _ = run(capsys, "show", "treaty", "--span", span, "--quote", cite["quote"])
    assert code == 0 and "exactly the quoted text" in out
    code, out, _ = run(capsys, "show", "treaty", "--span", span, "--quote", "Some other words.")
    assert code == 1 and out.startswith("error: Mismatch") and f"indexed there: “{cite['quote']}”" in out
    code, _, err = run_exit(capsys, ["show", "treaty", "--quote", "x"])
    assert code == 2 and "--span" in err
    code, _, err = run(capsys, "show", "treaty")
    assert code == 0 and "warning" not in err
    (corpus / "treaty.md").write_text("# Treaty\n\nRewritten entirely.\n")
    code, out, err = run(capsys, "show", "treaty")
    assert code == 0 and "changed or was deleted since it was indexed" in err and cite["quote"] in out
    code, out, _ = run(capsys, "show", "treaty", "--span", span)
    assert code == 1 and "no longer contains" in out and f"indexed there: “{cite['quote']}”" in out


def test_remove_of_a_file_deleted_by_hand_and_add_of_an_unsupported_file(env, capsys, tmp_path):
    corpus, _ = env
    run(capsys, "index")
    (corpus / "notes.txt").unlink()
    code, out, _ = run(capsys, "remove", "notes")
    assert code == 0 and "notes.txt had already been deleted" in out and "removed notes.txt" not in out
    odt = tmp_path / "paper.odt"
    odt.write_bytes(b"PK\x03\x04")
    code, _, err = run(capsys, "add", str(odt))
    assert code == 1 and "unsupported file type" in err  # named on the command line: refused, not "done"
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "photo.png").write_bytes(b"\x89PNG")
    (folder / "memo.md").write_text("# Memo\n\nA memo about lunar dust mitigation.\n")
    code, _, err = run(capsys, "add", str(folder))
    assert code == 0 and "photo.png" in err  # inside a folder: other files are expected


class _Terminal:
    """A stdout that says it is a terminal and keeps what was written."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_escape_sequences_in_documents_are_not_sent_to_a_terminal(env, capsys, monkeypatch):
    corpus, _ = env
    (corpus / "hostile.txt").write_text("Launch permits \x1b]0;pwned\x07 need \x1b[2Jregistration first.\n")
    run(capsys, "index")
    terminal, captured = _Terminal(), sys.stdout
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["show", "hostile"]) == 0
    shown = "".join(terminal.parts)
    assert "Launch permits" in shown and "\x1b" not in shown and "\x07" not in shown
    assert "\ufffd]0;pwned\ufffd need \ufffd[2Jregistration" in shown  # visible, not run
    assert sys.stdout is terminal  # put back after the command
    monkeypatch.setattr(sys, "stdout", captured)
    code, out, _ = run(capsys, "show", "hostile")  # not a terminal: byte-exact
    assert code == 0 and "\x1b[2J" in out


def test_a_bad_question_among_several_is_named(env, capsys):
    code, out, err = run(capsys, "ask", "Who wrote about weapons?", "   ", "Who registers objects?")
    assert code == 2 and out == ""  # nothing answered: all are checked first
    assert err.startswith("error: question 2 of 3: ")


def test_an_interrupted_index_says_the_next_one_resumes(env, capsys, monkeypatch):
    import qa.engine
    import qa.index
    from qa.embedding import HashEmbedder

    calls = []
    real = HashEmbedder.encode_spans

    def interrupted_at_the_second_group(self, texts, spans, *, progress=None):
        calls.append(len(texts))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, texts, spans, progress=progress)

    with monkeypatch.context() as m:
        m.setattr(qa.engine, "PartialVectors", lambda root: qa.index.PartialVectors(root, group=3))
        m.setattr(HashEmbedder, "encode_spans", interrupted_at_the_second_group)
        code, _, err = run(capsys, "index")
    assert code == 130
    assert "no index was built, and the next `qa index` reuses the vectors embedded so far (1 group(s)" in err
    with pytest.raises(qa.index.IndexNotFoundError):
        qa.index.current_build(env[1])
    code, out, _ = run(capsys, "index")
    assert code == 0 and (env[1] / "CURRENT").is_file()
    assert "3 kept from an interrupted build" in out


def test_an_interruption_before_anything_was_saved_promises_nothing(env, capsys, monkeypatch):
    from qa.embedding import HashEmbedder

    run(capsys, "index")

    def interrupted(self, texts, spans, *, progress=None):
        raise KeyboardInterrupt

    (env[0] / "new.md").write_text("# New\n\nA new document.\n")
    monkeypatch.setattr(HashEmbedder, "encode_spans", interrupted)
    code, _, err = run(capsys, "index")
    assert code == 130 and err.strip() == "interrupted; the previous index is unchanged"


def test_output_cut_short_by_a_pipe_is_not_an_error(env, tmp_path):
    corpus, index = env
    (corpus / "big.md").write_text("# Big\n\n" + "A sentence about orbits and launches. " * 8000)
    assert main(["index"]) == 0
    proc = subprocess.run(
        f"{sys.executable} -m qa show big | head -c 100",
        shell=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert len(proc.stdout) == 100
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
