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
# Molecule scenarios run by `make molecule` (in this order).
SCENARIOS ?= default hub
# Scenarios also run on the other release by `make test`.
OTHER_OS_SCENARIOS ?= default hub

IMAGES = $(BIN)/python -m schoolhub.lab.images --os $(HOST_OS)

export HOST_OS
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help venv system docker host-image lint unit molecule molecule-% test clean lab lab-down lab-test

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
	HOST_IMAGE=$$($(IMAGES) host) BASE_IMAGE=$$($(IMAGES) base) BASE_ARCHIVE=$(CURDIR)/$$($(IMAGES) archive) \
	  $(BIN)/molecule $(or $(MOLECULE_COMMAND),test) --scenario-name $*

molecule: $(addprefix molecule-,$(SCENARIOS))  ## Run every molecule scenario on HOST_OS

test:  ## Everything: lint, unit, molecule scenarios (both Debian releases)
	rm -rf $(REPORTS)
	$(MAKE) lint unit
	$(MAKE) molecule HOST_OS=debian13
	$(MAKE) molecule HOST_OS=debian12 SCENARIOS="$(OTHER_OS_SCENARIOS)"
	$(BIN)/python tools/summary.py $(REPORTS)

lab: venv system docker  ## The local lab: a hub on http://127.0.0.1:8000 with a fake GitHub
	$(BIN)/python -m schoolhub.lab.hosts up

lab-down: venv  ## Remove everything the lab created (containers, volumes, network)
	$(BIN)/python -m schoolhub.lab.hosts down

lab-test: lab  ## Sign in to the lab as a student with a headless browser
	mkdir -p $(REPORTS)
	$(BIN)/pytest tests/lab --junitxml=$(REPORTS)/lab.xml

clean:  ## Remove the virtualenv, reports and the test images
	rm -rf $(VENV) build
	docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^schoolhub-(base|host):' | xargs -r docker rmi
