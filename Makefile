# Two commands set everything up on a fresh machine with Python >= 3.10:
#   make demo   - .venv, install, run the example anonymizer end to end
#   make test   - .venv, the peers' .venv-peers, ruff, the docs site, every test
PYTHON ?= python3
# The NumPy 1 environment runs on the oldest Python this package supports
# (3.10; pyproject's requires-python), where one is found: 3.10 lacks what
# 3.11 added (SpooledTemporaryFile.seekable broke /fit there once).
PYTHON_OLDEST ?= $(shell for p in python3.10 $(HOME)/.pyenv/versions/3.10*/bin/python; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null \
	&& { echo "$$p"; exit; }; done; echo $(PYTHON))
VENV := .venv
PEERS := .venv-peers
NUMPY1 := .venv-numpy1
SYNTH := .venv-synth
LINT_PATHS := src tests $(wildcard benchmarks)
PIP_FLAGS := --disable-pip-version-check --quiet
# The registry's connection breaks now and then in the middle of a large wheel
# (CI failed once on pyarrow at 17.6 of 55 MB): pip retries and resumes
# instead of failing the run. Exported, so that the user-path walk's own
# venvs get the same; a pip older than 25.1 ignores PIP_RESUME_RETRIES.
export PIP_RETRIES ?= 10
export PIP_TIMEOUT ?= 60
export PIP_RESUME_RETRIES ?= 20
# pycanon checks k-anonymity and l-diversity of releases in the tests. Every
# release of it pins numpy==2.0.2 and an exact pandas, which no environment
# here can satisfy (NumPy 2.4/pandas 3, NumPy 1.26): it is installed without
# its dependencies (it needs only NumPy and pandas) and kept out of the extras.
PYCANON := --no-deps "pycanon==1.3.6"
# anonymeter (extra audit-table) pins numpy<1.27 and pyarrow<22, but runs on
# NumPy 2.4 with pandas 3.1 and 2.3 (the table-audit tests pass there): the
# NumPy 2 environments get it without its dependencies, which are named here;
# .venv-numpy1 resolves the extra as a user's pip does.
ANONYMETER_DEPS := "numba>=0.59" "polars>=1.8" "matplotlib>=3.8"
ANONYMETER := --no-deps "anonymeter==1.1.0"
# The NumPy 1 environment has no torch: its doctest collection leaves out the
# two modules that import torch at the top (the wrapper imports them lazily).
NO_TORCH_DOCTESTS := --ignore=src/anomed_anonymizer/models/torch/network.py \
	--ignore=src/anomed_anonymizer/models/torch/trainer.py

# What upstream's own tests (tests/upstream, run in the NumPy 1 environment)
# import besides this package: the peers' pins (tests/interop/requirements-peers.txt).
UPSTREAM_TEST_DEPS := "anomed-challenge==0.0.21" "anomed-utils==0.3.8" "pytest-mock==3.17.0"
# The lower ends of pyproject's server-stack ranges.
SERVER_STACK_LOWEST := "uvicorn==0.30.6" "uvicorn-worker==0.2.0" "httptools==0.6.4"

.PHONY: demo docs test lint unit unit-numpy1 interop peers venv clean stress user-path constraints bench container-test

venv: $(VENV)/.installed
peers: $(PEERS)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) -e ".[dev,docs]" $(ANONYMETER_DEPS)
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) $(PYCANON)
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) $(ANONYMETER)
	touch $@

# Keras 3 on the CPU build of torch (2.13.0 lies on local disk; a looser pin
# would download a multi-GB CUDA build), for TFKerasWrapper's test.
$(VENV)/.keras: $(VENV)/.installed
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) "torch==2.13.0" -e ".[keras]"
	touch $@

# PyTorch and Opacus for TorchWrapper and DP-SGD, on the same CPU build.
$(VENV)/.torch: $(VENV)/.installed
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) "torch==2.13.0" -e ".[torch]"
	touch $@

# The real AnoMed peers pin NumPy 1.26: they get their own environment.
$(PEERS)/.installed: tests/interop/requirements-peers.txt
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(PEERS)/bin/python -m pip install $(PIP_FLAGS) -r tests/interop/requirements-peers.txt
	touch $@

# Our package also supports the peers' stack (NumPy 1.26, pandas 2.2, pyarrow 19),
# on the oldest Python it supports, and the lowest server stack pyproject.toml
# allows (runtime/bridge.py relies on private names of uvicorn's protocol);
# the main environment gets the newest.
$(NUMPY1)/.installed: pyproject.toml
	$(PYTHON_OLDEST) -m venv $(NUMPY1)
	$(NUMPY1)/bin/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(NUMPY1)/bin/python -m pip install $(PIP_FLAGS) -e ".[dev,audit-table]" "numpy~=1.26.0" \
		"pandas~=2.2.0" "pyarrow~=19.0" "scikit-learn<1.6" "diffprivlib==0.6.5" \
		$(SERVER_STACK_LOWEST)
	$(NUMPY1)/bin/python -m pip install $(PIP_FLAGS) $(PYCANON)
	touch $@

# Upstream's own tests (tests/upstream) run there, with what they import.
$(NUMPY1)/.upstream-tests: $(NUMPY1)/.installed
	$(NUMPY1)/bin/python -m pip install $(PIP_FLAGS) $(UPSTREAM_TEST_DEPS)
	touch $@

# smartnoise-synth (DP synthesis) caps pandas below 3, so it gets its own
# environment rather than holding .venv back; torch is pinned to the CPU build.
$(SYNTH)/.installed: pyproject.toml
	$(PYTHON) -m venv $(SYNTH)
	$(SYNTH)/bin/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(SYNTH)/bin/python -m pip install $(PIP_FLAGS) "torch==2.13.0" -e ".[dev,synth]" \
		$(ANONYMETER_DEPS)
	$(SYNTH)/bin/python -m pip install $(PIP_FLAGS) $(PYCANON)
	$(SYNTH)/bin/python -m pip install $(PIP_FLAGS) $(ANONYMETER)
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/anomed-anonymizer demo

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/lint-imports

# The documentation site (mkdocs.yml, docs/, the API reference from the
# docstrings) into site/; --strict fails on any warning (a broken link, a
# docstring mkdocstrings cannot parse, a missing page). NO_MKDOCS_2_WARNING
# quiets Material's banner about MkDocs 2.
docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site

unit: $(VENV)/.installed
	$(VENV)/bin/python -m pytest tests/unit src

interop: $(VENV)/.installed $(PEERS)/.installed
	ANOMED_REQUIRE_PEERS=1 $(VENV)/bin/python -m pytest tests/interop

unit-numpy1: $(NUMPY1)/.installed $(NUMPY1)/.upstream-tests
	$(NUMPY1)/bin/python -m pytest $(NO_TORCH_DOCTESTS) tests/unit src tests/upstream

# A competitor's path, as a user walks it: the wheel built from this checkout,
# each install line of docs/getting-started.md in a fresh environment outside the
# repository (pip's cache is reused; torch comes from local disk), the
# README's examples against emulate-challenge, init's scaffolds installed
# with their own pins and passing their smoke tests.
user-path: $(VENV)/.installed
	$(VENV)/bin/python tests/user_path/walk.py

# A scaffold's image built and run with podman as the platform runs it (port
# 80, hosts without a port, the model on a volume, the platform stub driving
# /fit and /evaluate); the base image is made locally with debootstrap (no
# registry needed). Root; prints SKIP without podman. About 3.5 min for the
# supervised template once the base image exists (+1-2 min to debootstrap it).
# Not part of `make test`. CONTAINER_TEMPLATE=tabular|torch|torch-regression.
container-test: $(VENV)/.installed
	PYTHON=$(VENV)/bin/python tests/containers/build_and_run.sh $(or $(CONTAINER_TEMPLATE),supervised)

# Re-pin what init's scaffolds install (the newest versions pip picks now).
constraints: $(VENV)/.installed
	$(VENV)/bin/python tests/user_path/walk.py lock

# The user's path (mostly pip installs into fresh environments, waiting on
# disk) walks beside the other runs; its log is printed once they end.
test: $(VENV)/.installed $(VENV)/.keras $(VENV)/.torch $(PEERS)/.installed \
		$(NUMPY1)/.installed $(NUMPY1)/.upstream-tests $(SYNTH)/.installed lint docs
	@walk_log=$$(mktemp); \
	echo "tests/user_path/walk.py runs beside the test runs (log: $$walk_log)"; \
	$(VENV)/bin/python tests/user_path/walk.py > $$walk_log 2>&1 & walk=$$!; \
	$(NUMPY1)/bin/python --version; \
	$(NUMPY1)/bin/python -c 'import uvicorn, httptools; print("NumPy 1 run: uvicorn", uvicorn.__version__, "httptools", httptools.__version__)'; \
	$(NUMPY1)/bin/python -m pytest -q $(NO_TORCH_DOCTESTS) tests/unit src tests/cli/test_slow_clients.py \
		tests/upstream; numpy1=$$?; \
	$(SYNTH)/bin/python -m pytest -q tests/unit/tabular tests/unit/test_tabular_routes.py \
		tests/unit/table_audit/test_dp_synthesis.py src/anomed_anonymizer/tabular; synth=$$?; \
	ANOMED_REQUIRE_PEERS=1 $(VENV)/bin/python -m pytest --durations=15; main=$$?; \
	wait $$walk; walked=$$?; \
	echo "--- tests/user_path/walk.py (exit $$walked)"; cat $$walk_log; rm -f $$walk_log; \
	echo "NumPy 1 run: exit $$numpy1; synthesis run: exit $$synth; main run: exit $$main;" \
		"user path: exit $$walked"; \
	test $$numpy1 -eq 0 && test $$synth -eq 0 && test $$main -eq 0 && test $$walked -eq 0

# The long red-team campaign (several minutes): hostile inputs, kills during
# fit and save, slow clients, bombs, a hostile challenge, load with a refit.
# `make test` runs its fast profile (tests/stress/test_campaign.py).
stress: $(VENV)/.installed
	$(VENV)/bin/python tests/stress/campaign.py --profile long

# Issues 11 and 24's comparisons, each printing its ratios (docs/operations.md,
# "Performance"): /predict under serve, plain gunicorn (sync worker, and with
# the scaffolds' gunicorn.conf.py) against upstream's sync and gthread workers
# and the in-process limit; worker memory of /fit and /evaluate on 1 GB; MDAV
# (default and knn, Adult-like and skewed) and Mondrian at scale. About 20
# minutes on the 2-core VM (exact MDAV on 250,000 rows takes 2 of them);
# `make bench BENCH_FLAGS=--quick` uses smaller data and fewer rounds (the
# ratios, not the goals' sizes).
BENCH_FLAGS ?=
bench: $(VENV)/.installed $(PEERS)/.installed
	$(VENV)/bin/python benchmarks/bench_serving.py --peers-python $(PEERS)/bin/python $(BENCH_FLAGS)
	$(VENV)/bin/python benchmarks/bench_memory.py --peers-python $(PEERS)/bin/python $(BENCH_FLAGS)
	$(VENV)/bin/python benchmarks/bench_tabular_scale.py $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) $(PEERS) $(NUMPY1) $(SYNTH) .pytest_cache .ruff_cache site
