"""docs/benchmarks.md: the report of bench/quality.py, from the results of every collection.

The method, the targets, a side-by-side table per collection and split, the abstention trade-off, the
calibration, the misses and the fusion sweep; every sentence about how a figure is measured is here.
"""

from __future__ import annotations

import time

from bench.abstention import ABSTAIN_GOAL, operating_points
from bench.calibration import calibration
from bench.failures import failure_section
from bench.fusion_sweep import engine_fusion, sweep_section
from bench.quality_metrics import CRANFIELD_K, RANK_K, answer_metrics, median, ranking_metrics, retrieval_metrics
from bench.quality_systems import SYSTEMS, TIMED, Result
from bench.report import fmt, fmt_ms, mark, table, versions
from qa.retrieval import DEFAULT_K, POOL


def split_tables(res: Result, split: str) -> str:
    """The side-by-side table of one collection on one split."""
    qs = res.qs(split)
    rm = {s: retrieval_metrics(res.part(rows, split), qs) for s, rows in res.ranked.items()}
    am = {s: answer_metrics(res.part(rows, split), qs) for s, rows in res.answers.items()}
    n_ans = sum(q.answerable for q in qs)
    title = f"**{res.label}**, {split} split: {len(qs)} questions"
    if res.name == "cranfield":
        cm = {s: ranking_metrics(res.part(rows, split), qs) for s, rows in res.ranked.items()}
        rows = [
            [s, fmt(cm[s]["ndcg10"]), fmt(cm[s]["r100"]), fmt_ms(cm[s]["ms"])] if s in cm else [s, "n/a", "n/a", "n/a"]
            for s in SYSTEMS[:4]
        ]
        return title + "\n\n" + table(["system", "nDCG@10", "Recall@100", "ms/query"], rows)
    if res.name == "squad2":
        title += f" ({n_ans} answerable, {len(qs) - n_ans} unanswerable)"
        op = operating_points(res) if split == "test" else {}
        rows = []
        for s in SYSTEMS:
            r, a = rm.get(s), am.get(s)
            if s == "txtai hybrid" and r is None:
                rows.append([s, "n/a", "n/a", "—", "—", "—", "n/a"])
                continue
            fitted = op.get(s)
            rows.append(
                [
                    s,
                    fmt(r["r1"]) if r else "—",
                    fmt(r["r5"]) if r else "—",
                    fmt(a["hit"]) if a else "—",
                    fmt(a["abstain_unanswerable"]) if a else "—",
                    (f"{fmt(fitted[1])} / {fmt(fitted[2])} (t={fitted[0]:.2f})" if fitted else "—"),
                    fmt_ms((a or r)["ms"]),
                ]
            )
        return (
            title
            + "\n\n"
            + table(
                [
                    "system",
                    "para R@1",
                    "para R@5",
                    "answerable hit",
                    "unanswerable abstained",
                    "hit / abstained at dev-fitted t",
                    "ms/query",
                ],
                rows,
            )
        )
    rows = []
    for s in SYSTEMS:
        r, a = rm.get(s), am.get(s)
        if s == "txtai hybrid" and r is None:
            rows.append([s] + ["n/a"] * 3 + ["—"] * 5 + ["n/a", "—"])
            continue
        rows.append(
            [
                s,
                fmt(r["r1"]) if r else "—",
                fmt(r["r5"]) if r else "—",
                fmt(r["mrr"]) if r else "—",
                fmt(a["hit"]) if a else "—",
                fmt(a["one_sentence"]) if a else "—",
                fmt(a["abstain_answerable"]) if a else "—",
                fmt(a["mean_len"], 0) if a else "—",
                fmt(a["median_len"], 0) if a else "—",
                fmt_ms(r["ms"]) if r else "—",
                fmt_ms(a["ms"]) if a else "—",
            ]
        )
    return (
        title
        + "\n\n"
        + table(
            [
                "system",
                "para R@1",
                "para R@5",
                "MRR@20",
                "answer hit@1",
                "1-sentence hit",
                "abstained",
                "mean len",
                "median len",
                "retrieval ms",
                "answer ms",
            ],
            rows,
        )
    )


def targets(results: dict[str, Result], split: str) -> list[list[str]]:
    """The issue's targets, each with the measured figure on ``split`` and on dev."""
    rows = []

    def both(res: Result, metrics, system: str) -> tuple:
        """``metrics`` of ``system`` on ``split``, and on dev beside it (None when ``split`` is dev)."""
        rows_of = res.ranked if system in res.ranked else res.answers

        def on(sp):
            return metrics(res.part(rows_of[system], sp), res.qs(sp))

        return on(split), (on("dev") if split != "dev" else None)

    if (res := results.get("xquad")) is not None:
        r, rd = both(res, retrieval_metrics, "hybrid")
        ok = r["r1"] >= 0.96 and r["ms"] <= 25
        rows.append(
            [
                "XQuAD paragraph R@1 ≥ 0.96 at ≤ 25 ms/query (hybrid)",
                f"{fmt(r['r1'])} at {fmt_ms(r['ms'])} ms",
                f"{fmt(rd['r1'])} at {fmt_ms(rd['ms'])} ms" if rd else "—",
                mark(ok),
            ]
        )
        a, ad = both(res, answer_metrics, "full answerer")
        ok = a["hit"] >= 0.88 and a["median_len"] <= 350
        rows.append(
            [
                "XQuAD answer hit@1 ≥ 0.88, median length ≤ 350 chars (full answerer)",
                f"{fmt(a['hit'])}, {fmt(a['median_len'], 0)} chars",
                f"{fmt(ad['hit'])}, {fmt(ad['median_len'], 0)} chars" if ad else "—",
                mark(ok),
            ]
        )
    if (res := results.get("cranfield")) is not None:
        c, cd = both(res, ranking_metrics, "hybrid")
        rows.append(
            [
                "Cranfield nDCG@10 ≥ 0.58 (hybrid)",
                fmt(c["ndcg10"]),
                fmt(cd["ndcg10"]) if cd else "—",
                mark(c["ndcg10"] >= 0.58),
            ]
        )
    if (res := results.get("squad2")) is not None:
        s, sd = both(res, answer_metrics, "full answerer")
        ok = s["hit"] >= 0.80 and s["abstain_unanswerable"] >= 0.50
        rows.append(
            [
                "SQuAD2 answerable hit ≥ 0.80 and unanswerable abstained ≥ 0.50 (full answerer, default threshold)",
                f"{fmt(s['hit'])} / {fmt(s['abstain_unanswerable'])}",
                f"{fmt(sd['hit'])} / {fmt(sd['abstain_unanswerable'])}" if sd else "—",
                mark(ok),
            ]
        )
    if (res := results.get("spacelaw")) is not None:
        s, sd = both(res, answer_metrics, "full answerer")
        rows.append(
            [
                "spacelaw answer hit@1 ≥ 0.90 (full answerer)",
                fmt(s["hit"]),
                fmt(sd["hit"]) if sd else "—",
                mark(s["hit"] >= 0.90),
            ]
        )
    return rows


def engine_settings() -> str:
    import qa.answering as ans
    import qa.retrieval as ret

    fusion, weight = engine_fusion()
    return (
        f"retrieval: fusion {fusion}, dense_weight={weight}, pool={ret.POOL}, k={ret.DEFAULT_K}; "
        f"answerer: W_SEMANTIC={ans.W_SEMANTIC}, W_LEXICAL={ans.W_LEXICAL}, W_PASSAGE={ans.W_PASSAGE}, "
        f"threshold={ans.DEFAULT_THRESHOLD}"
    )


def render(results: dict[str, Result], args, sweep_results: dict | None, info: dict, seconds: float) -> str:
    splits = ["test", "dev"] if args.split == "both" else [args.split]
    report_split = splits[0]
    out = ["# Benchmarks", ""]
    out.append("Generated by `bench/quality.py`; do not edit by hand, re-run it.")
    out.append("")
    out.append(f"- Date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    out.append(
        f"- Machine: `{info['uname']}`, nproc {info['nproc']}, Python {info['python']}, "
        f"torch threads {info['torch_threads']}. Shared with other work during the run "
        f"(load average {info['load_start']} at start, {info['load_end']} at end), so times are "
        "noisy: every time is a median per query."
    )
    out.append(f"- Packages: {versions()}.")
    out.append(f"- Engine settings in this run: {engine_settings()}.")
    out.append(
        f"- Command: `{info['command']}` ({seconds / 60:.1f} min wall clock, {info['cpu_min']:.1f} min of CPU "
        "time in this process). "
        "`make bench-quality` runs it with the defaults."
    )
    out.append(
        "- Data: `../shared/bench` (or `$QA_BENCH_DATA`), read in place. Embeddings of chunks and "
        "sentences are cached in `bench/.cache/` (`.npy`, keyed by a hash of model and texts)."
    )
    out.append("")
    out.append("## How it is measured")
    out.append("")
    out.append(
        "Every collection is indexed with the project's pipeline (`qa.index.build_index`, default chunking "
        "of 1000/150 characters, the bundled all-MiniLM-L6-v2), one document per paragraph (XQuAD, SQuAD 2.0), "
        "per abstract (Cranfield, title + text) or per treaty article (spacelaw_qa, 199 articles). A document's "
        "title is part of the text that is embedded and BM25-indexed, as in the product (the chunk's locator); "
        "SQuAD paragraphs are titled with their Wikipedia article. Rankings are per document (a document's "
        "best chunk).\n\n"
        "Questions are split into **dev** and **test** by the parity of sha256(question id) read as an integer "
        "(even: dev), the rule `bench/tune_answerer.py` tunes with. "
        "Tune on dev; the headline figures are on **test**. Systems, all in the same run on the same index:\n\n"
        '- **BM25**: `retrieve(mode="lexical")`; **dense**: `mode="dense"` (exact FAISS inner product); '
        '**hybrid**: `mode="hybrid"` with the engine\'s default fusion.\n'
        "- **txtai hybrid** (peer): txtai `Embeddings(path=<bundled MiniLM folder>, hybrid=True, content=False)` "
        "over the same chunk texts (its own BM25 and score fusion).\n"
        "- **naive answerer**: dense top-3 passages, the sentence (`qa.answering.split_sentences`) with the "
        "highest cosine to the question; sentence vectors are precomputed, so its time is query embedding "
        "plus search.\n"
        f"- **no-selector answerer**: `Engine(index, embedder, combination=NO_SELECTOR).ask(question, "
        f"k={DEFAULT_K})`, the answerer before the learned selector ranked its candidates: the feature score "
        "and the answer window, with the calibration and threshold (0.48) fitted for them "
        "(`bench/quality_systems.py`), as the same-run baseline.\n"
        f"- **full answerer**: `Engine(index, embedder, selector=load_selector()).ask(question, k={DEFAULT_K})`, "
        "the product: the shipped selector reads the best candidates by feature score, which are ranked by "
        "feature score + b × its probability (the fitted `Combination`, docs/answerer.md), with the answer "
        "window (near-tied neighbouring sentences of the winner's passage joined into one span), and the "
        "confidence calibrated from the best feature score, at the engine's default threshold (an "
        "abstention counts as a miss on answerable questions).\n\n"
        "Metrics: paragraph Recall@k and MRR@20 of the gold document (the question's own paragraph, or the "
        "qrels article for spacelaw_qa); answer hit@1 = the answer contains a gold answer string, ignoring "
        "case and whitespace (`qa.evaluation.contains_gold`); 1-sentence hit = a hit whose answer is one "
        "sentence; lengths in characters over answers given; Cranfield nDCG@10 and Recall@100 with binary "
        "relevance (qrels score > 0).\n\n"
        f"Times are medians over a fixed sample of up to {TIMED} questions per collection (every n-th), the "
        "same questions for every system, each question embedded and searched alone as in use. Retrieval ms "
        "include embedding the question (not for BM25); answer ms are the whole `ask` call plus the "
        "question's embedding (candidate sentence vectors are stored in the index at build time, as in the "
        "product, so only the question is embedded). "
        "The engine is handed the question vectors computed once per run (in batches; cached on disk), "
        "so its time is its `ask` without the model call plus that question's measured embedding time."
    )
    out.append("")
    out.append("## Targets")
    out.append("")
    out.append(f"Figures on the {report_split} split" + (", dev beside them." if report_split != "dev" else "."))
    out.append("")
    out.append(
        table(["target", report_split, "dev" if report_split != "dev" else "—", "met"], targets(results, report_split))
    )
    out.append("")
    for sp in splits:
        out.append(f"## Results, {sp} split")
        out.append("")
        for res in results.values():
            out.append(split_tables(res, sp))
            out.append("")
        if sp == "test" and "squad2" in results:
            out.append(
                'SQuAD 2.0, "dev-fitted t": the lowest threshold that refuses at least '
                f"{ABSTAIN_GOAL:.0%} of the dev split's unanswerable questions, applied to test. "
                "The naive answerer has no threshold by default (never abstains); its curve uses the "
                "best sentence's cosine."
            )
            out.append("")
    out.append(
        "Per collection: documents and chunks indexed, time to build the index (embeddings from the "
        "cache when unchanged), median time to embed one question (part of every dense, hybrid and "
        "answer time above), median time of the hybrid search alone (BM25 + FAISS + fusion, given the "
        "question vector), and what txtai did. On a machine shared with other jobs the embedding time swings "
        "most; the search alone shows what retrieval costs beyond the model. Cranfield has no answer "
        "strings, so only its rankings are scored."
    )
    out.append("")
    out.append(
        table(
            [
                "collection",
                "documents",
                "chunks",
                "index build s",
                "question embedding ms",
                "hybrid search ms (no embedding)",
                "txtai",
            ],
            [
                [
                    r.label,
                    str(r.documents),
                    str(r.chunks),
                    fmt(r.build_s, 1),
                    fmt_ms(r.embed_ms),
                    fmt_ms(median(x.search_ms for x in r.ranked["hybrid"])),
                    r.txtai_note,
                ]
                for r in results.values()
            ],
        )
    )
    out.append("")
    if "squad2" in results:
        out.append("## Abstention trade-off")
        out.append("")
        out.append("![Answerable hit rate against unanswerable abstention over thresholds](abstention.png)")
        out.append("")
        out.append(
            "One point per threshold from 0 to 1 (step 0.01), from a pass at threshold 0: at threshold "
            "t a question is refused when the answer's confidence is below t. Solid lines: test; dotted: "
            "dev. Red dots: the engine's default threshold. The shaded box is the target region."
        )
        out.append("")
    calib = calibration(results, report_split)
    if calib:
        out.append("## Calibration of the confidence")
        out.append("")
        out.append("![Reliability diagram of the full answerer's confidence](calibration.png)")
        out.append("")
        out.append(
            f"Every {report_split}-split question of XQuAD-en, the SQuAD 2.0 sample and spacelaw_qa, pooled: "
            "the confidence of the best candidate (answered or not) against whether it was right (an "
            "answerable question whose best candidate holds a gold answer). The confidence is the "
            "calibrated probability of `qa.answering.Combination` (Platt scaling fitted by "
            "`bench/tune_selector.py` on the dev split). ECE = expected calibration error over 10 "
            "equal-width bins (0 is perfect)."
        )
        out.append("")
        out.append(table(["answerer", "questions", "ECE", "mean confidence", "share right"], calib))
        out.append("")
    fails, _ = failure_section(results, report_split)
    if fails:
        out.append("## Where the full answerer misses")
        out.append("")
        out.append(fails)
        out.append("")
        out.append(
            "Every miss, with the top candidates and their score features, is written to "
            "`bench/.cache/failures/<collection>-<split>.jsonl`."
        )
        out.append("")
    out.append("## Fusion sweep")
    out.append("")
    if sweep_results:
        out.append(
            "`bench/quality.py --sweep`: convex fusion (`qa.retrieval.fuse`) over dense_weight and a "
            "weighted reciprocal rank fusion over dense_weight and k, over the candidate pools `retrieve` "
            f"fuses for the result tables ({max(POOL, RANK_K)} chunks per retriever; "
            f"{max(POOL, CRANFIELD_K)} for Cranfield, whose table needs 100 documents), so the engine's "
            "setting reproduces the tables. Questions with a gold document only. Pick on dev, check on test; "
            "one XQuAD dev question is 0.0017 of R@1, one SQuAD 2.0 dev question 0.007, one spacelaw_qa dev "
            "question 0.083."
        )
        out.append("")
        out.append(sweep_section(sweep_results))
    else:
        out.append("Not run this time; `bench/quality.py --sweep` adds it.")
    out.append("")
    out.append("## Reference points")
    out.append("")
    out.append(
        "From `shared/bench/README.md`, measured on all questions (not split) with simple baselines: "
        "XQuAD-en paragraph R@1 dense 0.885, BM25 0.918, txtai hybrid 0.952 (37 ms/query); "
        "best-sentence hit@1 0.691; Cranfield nDCG@10 BM25 (bm25s) 0.505, dense 0.513, txtai hybrid 0.565."
    )
    out.append("")
    return "\n".join(out)
