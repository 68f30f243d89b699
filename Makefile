# One-command set-up: `make run` starts the app, `make test` runs every test.
# Both create .venv and install what they need on a fresh machine.
PY := .venv/bin/python
PORT ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TRANSFORMERS_VERBOSITY := error

.PHONY: run test test-fast lint index bench-quality bench-perf bench-reindex bench-ray clean

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

# Local build vs Ray with 1 and 2 nodes on this machine (docs/scale.md); ~15k chunks, ~17 min idle.
bench-ray: .stamp-dev
	$(PY) bench/ray_bench.py

clean:
	rm -rf embeddings/build-* embeddings/CURRENT .stamp-*
