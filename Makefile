# One entry point. In a fresh clone: `make demo` (install + run the smoke workload) or `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all lint venv schemas clean study study-report

$(STAMP): requirements/cpu.txt requirements/dev.txt requirements/ray.txt requirements/torchrec.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/cpu.txt -r requirements/dev.txt -r requirements/ray.txt
	# torchrec declares the CUDA fbgemm-gpu; installing it with its deps would replace the CPU one.
	$(PY) -m pip install --quiet --no-deps -r requirements/torchrec.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/recscale demo

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/recscale schemas --check
	$(VENV)/bin/recscale validate
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m "slow or not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

schemas: $(STAMP)
	$(VENV)/bin/recscale schemas

# The scaling study of the reference submission (README.md, "The scaling study": about 45 minutes on
# 2 CPU cores; resumable: re-run to finish an interrupted study). `make study-report` scores it and
# writes the report. The second CPU stack (the same machine, the table-batched torch backend):
#   make study STUDY_BACKEND=torch STUDY_SYSTEM=xeon-2c_cpu_torch STUDY_WORKLOADS="smoke study-embedding-rows study-embedding-dim"
STUDY_WORKLOADS ?= smoke study-data study-embedding-dim study-embedding-rows study-bottom-mlp \
                   study-top-mlp study-interaction
STUDY_SUBMISSION ?= submissions/reference-cpu
STUDY_SYSTEM ?= xeon-2c_cpu_torchrec
STUDY_BACKEND ?= torchrec

study: $(STAMP)
	for w in $(STUDY_WORKLOADS); do \
	  $(VENV)/bin/recscale run $$w --submission $(STUDY_SUBMISSION) --system $(STUDY_SYSTEM) \
	    --submitter RecScale --status cloud --backend $(STUDY_BACKEND) --no-progress || exit $$?; \
	done

study-report: $(STAMP)
	$(VENV)/bin/recscale check $(STUDY_SUBMISSION)
	$(VENV)/bin/recscale report $(STUDY_SUBMISSION) --out $(STUDY_SUBMISSION)/report
	$(VENV)/bin/recscale score submissions --out submissions/leaderboard

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
