# Two commands do all set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
export RASA_TELEMETRY_ENABLED := false

.PHONY: run run-scaled test venvs model bench clean help

help:
	@echo "make run    - install, train if needed, seed the demo DB, start api + actions + Rasa"
	@echo "make run-scaled - the scaled topology: 2 api + 2 Rasa on PostgreSQL and Redis (both must run)"
	@echo "make test   - install, train if needed, run the whole test suite"
	@echo "make bench  - measure install/training/start-up/memory into bench/results/"

venvs:
	@scripts/ensure_venv.sh app
	@scripts/ensure_venv.sh rasa

model: venvs
	@$(PY) -m devstack train

run: venvs
	@$(PY) -m devstack run

# Needs PostgreSQL (DATABASE_URL, default postgres@127.0.0.1:5432/repayment) and Redis
# (REDIS_URL, default 127.0.0.1:6379); see README "Scaled topology".
run-scaled: venvs
	@$(PY) -m devstack run --scaled

test: model
	@scripts/ensure_chromium.sh
	@$(PY) -m pytest $(PYTEST_ARGS)

bench: model
	@$(PY) bench/startup.py
	@$(PY) bench/quotes.py
	@$(PY) bench/audit_verify.py
	@$(PY) bench/gateway_load.py
	@$(PY) bench/scaled_load.py
	@$(PY) bench/compliance_search.py
	@$(PY) bench/outreach.py

clean:
	rm -rf var/app.db* var/rasa var/log
