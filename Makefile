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
# Students who start at once in `make bench`.
N ?= 50
# `make molecule-<scenario> UNTIL=converge` stops there and keeps the hosts.
UNTIL ?=
# The test runner: its chains (scenario-os, lab-test) and steps are listed by
# `.venv/bin/python tools/test.py --list`.
RUN_TESTS = $(BIN)/python tools/test.py

export HOST_OS
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: docs help venv system docker lint unit molecule-% test clean lab lab-down lab-test bench

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

lint: venv  ## yamllint, ansible-lint (production profile), ruff, the docs built (warnings are errors)
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production
	$(BIN)/ruff check src tests molecule tools plugins
	$(BIN)/ruff format --check src tests molecule tools plugins
	$(BIN)/mkdocs build --quiet --strict

unit: venv  ## Unit tests (no Docker needed)
	mkdir -p $(REPORTS)
	$(BIN)/pytest tests/unit --junitxml=$(REPORTS)/unit.xml

molecule-%: venv system docker  ## One molecule scenario on HOST_OS: make molecule-hub HOST_OS=debian12 [UNTIL=converge]
	$(RUN_TESTS) images-$(HOST_OS) $*-$(HOST_OS) $(if $(UNTIL),--until $(UNTIL))

test: venv system docker  ## Everything, side by side: lint, unit, every scenario on both Debian releases, the lab
	$(RUN_TESTS)

lab: venv system docker  ## The local lab: a hub on http://127.0.0.1:8000 with a fake GitHub (WORKERS=2)
	$(BIN)/python -m schoolhub_lab.hosts up --workers $(WORKERS)

lab-down: venv  ## Remove everything the lab created (containers, volumes, network)
	$(BIN)/python -m schoolhub_lab.hosts down

lab-test: venv system docker  ## A fresh lab on :18000, a browser signs in, backup/restore round trip; removed after
	$(RUN_TESTS) images-debian13 lab-test

bench: venv system docker  ## The 9:00 storm: N=50 students start at once on a lab of its own, against plain docker run
	$(BIN)/python -m schoolhub_lab.bench lab --users $(N)

docs: venv  ## The variable reference (docs/reference.md) from the argument specs, then the site (build/site)
	$(BIN)/python tools/docs.py
	$(BIN)/mkdocs build --quiet

clean:  ## Remove the virtualenv, reports and the test images
	rm -rf $(VENV) build
	docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^schoolhub-(base|host):' | xargs -r docker rmi
