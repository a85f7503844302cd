# The one entry point for people and CI alike. `make up` starts the platform,
# `make test` runs every test against real PostgreSQL and Kafka.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := scripts/uv.sh
STATE_DIR := .data/up
RUN := $(UV) run --frozen
# pytest-xdist workers for `make test`'s pytest (0: no workers, one process); the suite
# waits on PostgreSQL, Kafka and its services' processes, so more workers than cores pay.
PYTEST_WORKERS ?= 3

.PHONY: help install web up down reset status test test-containers check format kafka-up kafka-down test-infra-down bench chaos

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

install: ## create .venv and install the locked dependencies
	@$(UV) sync --frozen --quiet

web: ## build the browser UI into web/dist (npm ci when needed)
	@scripts/web.sh build

kafka-up: ## start the local Kafka for `make up` (skipped when SHOPMESH_KAFKA_BOOTSTRAP is set)
	@if [ -n "$${SHOPMESH_KAFKA_BOOTSTRAP:-}" ]; then \
		echo "using the Kafka cluster at $$SHOPMESH_KAFKA_BOOTSTRAP"; \
	else \
		scripts/kafka.sh install && scripts/kafka.sh start $(STATE_DIR)/kafka 9092 9093; \
	fi

kafka-down:
	@scripts/kafka.sh stop $(STATE_DIR)/kafka

up: install web kafka-up ## start the whole platform and wait until every service is ready
	@$(RUN) shopmesh --state-dir $(STATE_DIR) up

down: ## stop everything `make up` started
	@$(RUN) shopmesh --state-dir $(STATE_DIR) down
	@$(MAKE) --no-print-directory kafka-down

reset: down ## stop everything and delete .data/up (databases and Kafka's log)
	@rm -rf $(STATE_DIR)

status: ## show each service's readiness, instances, outbox backlog and consumer lag
	@$(RUN) shopmesh --state-dir $(STATE_DIR) status

test: install ## run every test (starts the test PostgreSQL and Kafka on their own ports)
	@scripts/k8s-tools.sh
	@# While the UI builds, Python's bytecode of our sources and pytest's rewritten test modules
	@# are written once (even where PYTHONDONTWRITEBYTECODE is set): otherwise every worker,
	@# and every service the system tests start, compiles them again.
	@( export PYTHONDONTWRITEBYTECODE=; $(RUN) python -m compileall -q src harness chaos && \
		$(RUN) pytest --collect-only -q -n 0 >/dev/null ) & warming=$$!; \
	scripts/web.sh build && scripts/web.sh browser && scripts/web.sh check && scripts/web.sh unit; \
	built=$$?; wait $$warming; exit $$built
	@exports="$$(scripts/test-infra.sh up)" && eval "$$exports" && \
		$(RUN) pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-containers: install ## build the images with podman and run docker-compose.yml for real (see tests/containers/README.md)
	@scripts/containers.sh install
	@scripts/web.sh browser
	@scripts/containers.sh images
	@$(RUN) pytest --containers tests/containers $(PYTEST_ARGS)

bench: install ## benchmarks on PostgreSQL + Kafka -> bench/results/latest.md (SCENARIO=gateway, BENCH_QUICK=1)
	@bench/install-tools.sh
	@$(RUN) --group bench python -m bench.run $(foreach s,$(SCENARIO),--scenario $(s))

chaos: install ## fault scenarios on their own PostgreSQL/Kafka (minutes; SCENARIO=kill-payments for one, CHAOS_QUICK=1)
	@$(RUN) python -m chaos $(if $(SCENARIO),$(foreach s,$(SCENARIO),--scenario $(s)))

test-infra-down: ## stop the test PostgreSQL and Kafka
	@scripts/test-infra.sh down

check: install ## ruff (format + lint), mypy, import-linter
	@$(RUN) ruff format --check src tests bench harness chaos
	@$(RUN) ruff check src tests bench harness chaos
	@$(RUN) mypy
	@$(RUN) lint-imports
	@scripts/web.sh check

format: install ## apply ruff's formatting and safe fixes
	@$(RUN) ruff format src tests bench harness chaos
	@$(RUN) ruff check --fix src tests bench harness chaos
