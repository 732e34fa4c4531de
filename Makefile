# Accountability campaign platform: everyday commands. `make` (or `make help`) lists them.
# The first command that needs Python creates .venv and installs requirements.txt into it.

PY          := .venv/bin/python
VENV_STAMP  := .venv/.installed
PYTEST_ARGS ?=
# pytest-xdist processes for make test (0: one process). A module's tests stay on one
# worker, in order, and the modules on the shared workbench stack share one (--dist
# loadgroup; tests/conftest.py writes the group into the node id, as pytest 9.2 needs).
TEST_WORKERS ?= 2
export PYTHONPATH := $(CURDIR)

.DEFAULT_GOAL := help
.PHONY: help run test test-unit faults bench bench-audit migrate clean backup restore

help: ## list the targets
	@echo "make <target>:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(VENV_STAMP): requirements.txt
	python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install -r requirements.txt
	touch $@

run: $(VENV_STAMP) ## start the four services and the gateway (needs RabbitMQ; Ctrl-C stops)
	exec env DEMO_ACCOUNTS=$${DEMO_ACCOUNTS:-1} $(PY) -m infra.run  # exec: a SIGTERM to make reaches it

test: $(VENV_STAMP) ## run all tests but the fault suite (PYTEST_ARGS="-k ..." to narrow)
	bash infra/ensure_browser.sh
	bash infra/ensure_pdf.sh
	$(PY) -m pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder,) --ignore=tests/faults $(PYTEST_ARGS)

test-unit: $(VENV_STAMP) ## run the unit tests only (no broker, no database)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

faults: $(VENV_STAMP) ## the fault suite (tests/faults): kill, freeze, cut, poison mid-flow; prints a report
	$(PY) -m pytest tests/faults $(PYTEST_ARGS)

bench: $(VENV_STAMP) ## run the benchmarks (clues, audit, open311, upload in bench/); prints figures
	$(PY) -m bench.clues
	$(PY) -m bench.audit
	$(PY) -m bench.open311
	$(PY) -m bench.upload

bench-audit: $(VENV_STAMP) ## the spot-check round benchmark alone (bench/audit.py)
	$(PY) -m bench.audit

migrate: $(VENV_STAMP) ## bring every service's database to the latest migration
	$(PY) -c "from infra.run import migrate_all; migrate_all()"

backup: $(VENV_STAMP) ## back up every store and the blobs to BACKUP=dir (default backups/<time>)
	$(PY) -m infra.backup create $${BACKUP:-backups/$$(date -u +%Y%m%dT%H%M%SZ)}

restore: $(VENV_STAMP) ## verify BACKUP=dir, then restore it into empty stores (REPLACE=1 overwrites)
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=dir / 用法: make restore BACKUP=目录"; exit 2; }
	$(PY) -m infra.backup restore "$(BACKUP)" $(if $(REPLACE),--replace,)

clean: ## remove local data (var/); keeps .venv
	rm -rf var/
