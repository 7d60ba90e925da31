# podvisor: common tasks. `make help` lists them.
PYTHON ?= python3
DATA_DIR ?= $(HOME)/.podvisor

.PHONY: help install images postgres-binaries network-tools chromium test test-unit test-faults lint demo demo-check down bench bench-quick screenshot clean

# Installed once per change of pyproject.toml, so the quick-start commands work on a fresh clone.
.installed: pyproject.toml
	$(PYTHON) -m pip install -q -e '.[test,lint,compat,postgres]'
	@touch .installed

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

install:  ## Install podvisor with its test, lint, compatibility and PostgreSQL extras (editable)
	$(PYTHON) -m pip install -e '.[test,lint,compat,postgres]'

images:  ## Build the local busybox image used by tests and the demo
	images/build.sh

# The PostgreSQL store's tests start a throwaway server from Debian's binaries.
postgres-binaries:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || \
	   sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

# The kubelet's service proxy programs the kernel with nft (and flushes UDP flows with conntrack).
network-tools:
	@(command -v nft && command -v conntrack && command -v ip) >/dev/null 2>&1 || \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables conntrack iproute2 >/dev/null || \
	   sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables conntrack iproute2 >/dev/null)

# The dashboard's browser tests drive Debian's Chromium (Playwright launches it; no browser download).
chromium:
	@command -v chromium >/dev/null 2>&1 || \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || \
	   sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

test: .installed images postgres-binaries network-tools chromium  ## Run every test, e2e on the real Docker daemon included
	$(PYTHON) -m pytest -q

test-unit: .installed  ## Run the tests that need no Docker daemon
	$(PYTHON) -m pytest -q -m "not e2e"

test-faults: .installed images postgres-binaries  ## Run only the fault suite (crashes, full disk, partitions, fuzzing)
	$(PYTHON) -m pytest -q -m faults tests/faults

lint: .installed  ## ruff, mypy and the import-layer contracts
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy
	lint-imports

demo: .installed images network-tools  ## Start a 3-node cluster on Docker, apply manifests/demo, keep running until Ctrl-C
	$(PYTHON) -m demo run

demo-check: .installed images network-tools  ## Run the demo non-interactively, check it, tear it down
	$(PYTHON) -m demo check

down:  ## Remove everything a crashed demo left behind
	$(PYTHON) -m demo down

bench: .installed images  ## Run all benchmarks (podvisor vs raw Docker, Docker restart policy, Swarm)
	$(PYTHON) -m bench run

bench-quick: .installed images  ## A short benchmark run (under 3 minutes)
	$(PYTHON) -m bench run --quick

screenshot: .installed images chromium  ## Regenerate docs/dashboard.png (the README's dashboard screenshot) from a small live cluster
	$(PYTHON) -m tests.e2e.dashboard_screenshot docs/dashboard.png

clean:  ## Remove caches and build output
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
