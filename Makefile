# schoolhub — every set-up step is a target; `make lab` and `make test` need nothing else.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
REPORTS := build/reports
# Host operating system of the container test hosts: debian13 (default) or debian12.
HOST_OS ?= debian13
# Hosts that run users' servers in `make lab` (0: the hub host runs them).
WORKERS ?= 2
# Molecule scenarios run by `make molecule` (in this order).
SCENARIOS ?= default hub swarm
# Scenarios also run on Debian 12 by `make test` (Docker 20.10 there). The hub
# scenario passes there too (make molecule-hub HOST_OS=debian12) but is left
# out to keep `make test` well inside CI's 90 minutes.
OTHER_OS_SCENARIOS ?= default

IMAGES = $(BIN)/python -m schoolhub.lab.images --os $(HOST_OS)

export HOST_OS
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: docs help venv system docker host-image lint unit molecule molecule-% test clean lab lab-down lab-test

help:  ## Show the targets
	@grep -E '^[a-z%-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "Python 3.11 or newer is needed (PYTHON=$(PYTHON))"; exit 1; }
	@echo "venv: installing the project and its tools into $(VENV) (first time: a few minutes)..."
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed  ## Create or update the project virtualenv

system:  ## Install the Debian packages the tests need (as root)
	tools/system-deps.sh

docker:  ## Install and start a Docker engine if none answers
	tools/docker-bootstrap.sh

host-image: venv system docker  ## Build (or reuse) the test-host image for HOST_OS
	$(BIN)/python -m schoolhub.lab.images host --os $(HOST_OS)

lint: venv  ## yamllint, ansible-lint (production profile), ruff
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production
	$(BIN)/ruff check src tests molecule
	$(BIN)/ruff format --check src tests molecule

unit: venv  ## Unit tests (no Docker needed)
	mkdir -p $(REPORTS)
	$(BIN)/pytest tests/unit --junitxml=$(REPORTS)/unit.xml

molecule-%: host-image  ## Run one molecule scenario: make molecule-hub HOST_OS=debian12
	mkdir -p $(REPORTS)
	export HOST_IMAGE=$$($(IMAGES) host) BASE_IMAGE=$$($(IMAGES) base) \
	  BASE_ARCHIVE=$(CURDIR)/$$($(IMAGES) archive); \
	if [ -z "$(MOLECULE_COMMAND)" ]; then \
	  : "shared volumes outlive molecule's hosts: start from empty ones"; \
	  $(BIN)/molecule destroy --scenario-name $* >/dev/null; \
	  docker volume ls -q --filter name=^schoolhub-molecule- | xargs -r docker volume rm >/dev/null; \
	fi; \
	$(BIN)/molecule $(or $(MOLECULE_COMMAND),test) --scenario-name $*

molecule: $(addprefix molecule-,$(SCENARIOS))  ## Run every molecule scenario on HOST_OS

test:  ## Everything: lint, unit, molecule scenarios (both Debian releases)
	rm -rf $(REPORTS)
	$(MAKE) lint unit
	$(MAKE) molecule HOST_OS=debian13
	$(MAKE) molecule HOST_OS=debian12 SCENARIOS="$(OTHER_OS_SCENARIOS)"
	$(MAKE) lab-test
	$(BIN)/python tools/summary.py $(REPORTS)

lab: venv system docker  ## The local lab: a hub on http://127.0.0.1:8000 with a fake GitHub (WORKERS=2)
	$(BIN)/python -m schoolhub.lab.hosts up --workers $(WORKERS)

lab-down: venv  ## Remove everything the lab created (containers, volumes, network)
	$(BIN)/python -m schoolhub.lab.hosts down

# `make lab-test` makes its own lab beside yours, and removes it afterwards.
LAB_TEST := WORKERS=$(WORKERS) LAB_NAME=schoolhub-labtest LAB_SUBNET=10.205.0.0/24 LAB_PORT=18000 LAB_GITHUB_PORT=18080

lab-test: venv system docker  ## A fresh lab on :18000, a browser signs in as a student, then it is removed
	mkdir -p $(REPORTS)
	$(LAB_TEST) $(BIN)/python -m schoolhub.lab.hosts up --workers $(WORKERS)
	@# The lab is removed whatever the tests say (the shell runs with -e).
	rc=0; $(LAB_TEST) $(BIN)/pytest tests/lab --junitxml=$(REPORTS)/lab.xml || rc=$$?; \
	  $(LAB_TEST) $(BIN)/python -m schoolhub.lab.hosts down; exit $$rc

docs: venv  ## Regenerate the README's role-variable reference from the argument specs
	$(BIN)/python tools/docs.py

clean:  ## Remove the virtualenv, reports and the test images
	rm -rf $(VENV) build
	docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^schoolhub-(base|host):' | xargs -r docker rmi
