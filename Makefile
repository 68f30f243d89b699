# One-command set-up: `make run` starts the app, `make test` runs every test.
# Both create .venv and install what they need on a fresh machine.
PY := .venv/bin/python
PORT ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TRANSFORMERS_VERBOSITY := error

.PHONY: run test test-fast lint index bench-quality bench-perf bench-reindex bench-resume bench-pdf bench-load bench-ray train-selector tune-selector clean

.venv/bin/python:
	python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip

.stamp-install: .venv/bin/python requirements.txt
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Ray for the cluster build (qa/cluster.py): tests and benchmarks only, never `make run`.
.stamp-cluster: .stamp-install requirements-cluster.txt
	$(PY) -m pip install --quiet -r requirements-cluster.txt
	touch $@

.stamp-dev: .stamp-install .stamp-cluster requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# The browser test needs Debian's Chromium and ChromeDriver (never a downloaded browser).
.stamp-chromium:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "installing Debian packages chromium chromium-driver"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi
	touch $@

index: .stamp-install
	$(PY) -m qa index

# The index is brought up to date on every start: only changed documents are embedded,
# an unchanged corpus costs about a second, and an index of an older format is rebuilt.
run: .stamp-install
	$(PY) -m qa index
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

test: .stamp-dev .stamp-chromium
	$(PY) -m ruff check qa tests app.py bench
	$(PY) -m pytest

test-fast: .stamp-dev
	$(PY) -m pytest -m "not slow and not e2e and not ray"

lint: .stamp-dev
	$(PY) -m ruff check qa tests app.py bench
	$(PY) -m ruff format --check qa tests app.py bench

bench-quality: .stamp-dev
	$(PY) -m pip install --quiet -r bench/requirements.txt  # txtai, the peer system (bench only)
	$(PY) bench/quality.py

bench-perf: .stamp-dev
	$(PY) bench/perf.py

bench-reindex: .stamp-dev
	$(PY) bench/reindex.py

# Ctrl-C a build of ~5,600 chunks halfway, then run it again (docs/reliability.md, section 11).
bench-resume: .stamp-dev
	$(PY) bench/resume.py

# The corpus as typeset PDFs against the Markdown originals: answers (docs/reliability.md, section 13).
bench-pdf: .stamp-dev
	$(PY) bench/pdf_reflow.py

# 8 browser users and 8 Engine.ask threads while a changed document is re-indexed; writes docs/load.md.
# A benchmark, not part of `make test`.
bench-load: .stamp-dev .stamp-chromium
	$(PY) bench/load.py

# The learned answer selector (models/answer-selector/, shipped): retrain it from ../shared/train.
# Four resumable stages (checkpoints in bench/.cache/): 945 steps with easy negatives, then two
# continuations on new questions with BM25-mined hard negatives. About 70 minutes at idle step
# times on 2 cores (2.3 hours on the shared machine; models/answer-selector/README.md).
SEL := bench/.cache/selector
train-selector: .stamp-dev
	$(PY) bench/train_selector.py --steps 400 --lr 5e-5 --every 25 --out $(SEL)-base-model
	$(PY) bench/train_selector.py --steps 1000 --stop-at 945 --lr 5e-5 --every 25 --out $(SEL)-base-model
	$(PY) bench/train_selector.py --init $(SEL)-base-model --offset 7560 --hard --steps 600 --lr 3e-5 \
		--every 25 --ckpt $(SEL)-hard --out $(SEL)-hard-model
	$(PY) bench/train_selector.py --init $(SEL)-hard-model --offset 12360 --hard --steps 500 --lr 2e-5 \
		--every 25 --ckpt $(SEL)-hard2

tune-selector: .stamp-dev
	$(PY) bench/tune_selector.py

# Local build vs Ray with 1 and 2 nodes on this machine (docs/scale.md); ~15k chunks, ~17 min idle.
bench-ray: .stamp-dev
	$(PY) bench/ray_bench.py

clean:
	rm -rf embeddings/build-* embeddings/CURRENT embeddings/.partial .stamp-*
