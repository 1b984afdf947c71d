# The two commands of the README, and what they build on.
#   make demo   installs what it needs and renders the demo mesh (no cluster)
#   make test   installs what it needs and runs the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LINK   := .collections/ansible_collections/sidecarless/mesh
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test setup setup-test link docs bench clean cluster-up cluster-down cluster-tools

demo: setup
	$(BIN)/ansible-playbook site.yml -i inventories/demo

test: setup-test
	$(BIN)/python -m pytest

setup: $(VENV)/.runtime link
setup-test: $(VENV)/.test link

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "sidecarless.mesh needs Python 3.11 or later (found: $$($(PYTHON) --version 2>&1)); run make PYTHON=python3.11 ..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3

$(VENV)/.runtime: requirements.txt $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: requirements.txt requirements-test.txt $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@

link:
	@mkdir -p $(dir $(LINK))
	@ln -sfn ../../.. $(LINK)

docs: setup
	$(BIN)/python tools/gendocs.py

bench: setup
	$(BIN)/python tools/benchmark.py

# The test control plane (tests/controlplane/README.md): a real kube-apiserver,
# controller-manager, scheduler and etcd on 127.0.0.1 with simulated nodes.
# The last line of cluster-up is KUBECONFIG=<path>.
cluster-tools: setup-test
	PYTHONPATH=tests $(BIN)/python -m controlplane build

cluster-up: setup-test
	@PYTHONPATH=tests $(BIN)/python -m controlplane up

cluster-down:
	@PYTHONPATH=tests $(or $(wildcard $(BIN)/python),$(PYTHON)) -m controlplane down

clean: cluster-down
	rm -rf $(VENV) .collections build tests/output
