"""Benchmarks and tuning scripts; their figures are in ``docs/``.

Every script is one experiment, run as ``.venv/bin/python bench/<name>.py`` (the ``bench-*``,
``tune-selector`` and ``train-selector`` targets of the Makefile) and importable as
``bench.<name>``. What they share:

- ``data``: the public test collections (XQuAD-en, SQuAD 2.0 sample, Cranfield, spacelaw_qa)
  from ``../shared/bench`` or ``$QA_BENCH_DATA``, and their dev/test split.
- ``synthetic``: the synthetic corpus made of real corpus sentences, and generated questions.
- ``timing``: percentiles, progress lines, child processes timed with their peak memory.
- ``report``: Markdown tables and number formats, the machine header, plots.

The scripts and the parts they are split into:

- ``quality.py`` (docs/benchmarks.md): ``prepared`` (collections indexed once, embeddings
  cached), ``quality_metrics``, ``quality_systems`` (every system on one collection),
  ``abstention``, ``calibration``, ``failures``, ``fusion_sweep``, ``quality_report``.
- ``perf.py`` (docs/performance.md): ``perf_build``, ``perf_latency``, ``perf_scale``,
  ``perf_cold``, ``perf_experiments``, ``perf_report``.
- ``load.py`` (docs/load.md): ``load_scenario``, ``load_browser``.
- ``reindex.py`` (docs/performance.md), ``hostile.py``, ``resume.py`` and ``pdf_reflow.py``
  (docs/reliability.md), ``ray_bench.py`` (docs/scale.md), ``closest.py`` (docs/answerer.md: what a refusal shows),
  ``language.py`` (README: which refusals say "not English").
- ``tune_answerer.py``, ``tune_retrieval.py``, ``tune_selector.py``, ``train_selector.py``:
  the dev-split sweeps and the selector training behind the engine's defaults (docs/answerer.md).
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CORPUS = ROOT / "corpus"
CACHE = ROOT / "bench" / ".cache"  # embeddings, txtai indexes and failure dumps; never committed
# Read before anything imports qa (qa.embedding sets a policy of its own) or bench/perf.py's --omp-passive
# changes it: timed child processes get the caller's setting back (bench.timing.python_env), so builds and
# cold starts always measure qa as it runs.
CALLER_OMP_WAIT_POLICY = os.environ.get("OMP_WAIT_POLICY")
