# The two commands of the README, and what they build on.
#   make demo   installs what it needs and renders the demo mesh (no cluster)
#   make test   installs what it needs and runs the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The second lane: ansible-core 2.21 (kubernetes.core 6.6, Helm 4) on Python 3.12 or later.
PYTHON_LANE2 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12 python3.13 2>/dev/null))
VENV2  := .venv-ac221
BIN2   := $(VENV2)/bin
# galaxy-importer without the collection's dependencies, as Galaxy imports a tarball.
VENV_IMPORTER := .venv-importer
LINK   := .collections/ansible_collections/sidecarless/mesh
# What the second lane runs: the cluster end-to-end tests and the module tests.
CLUSTER_TESTS := tests/playbook/test_site_cluster.py tests/playbook/test_site_cluster_lifecycle.py \
	tests/playbook/test_site_cluster_inventories.py tests/unit/plugins/modules
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)
# pip's download cache stays in the checkout too (make test writes nothing into your home but the
# control plane's tool cache, see README "Testing").
export PIP_CACHE_DIR ?= $(CURDIR)/.cache/pip

.PHONY: demo test test-lane2 setup setup-test setup-lane2 setup-importer link docs bench bench-cluster clean cluster-up cluster-down cluster-tools

demo: setup
	$(BIN)/ansible-playbook site.yml -i inventories/demo

# The whole suite on ansible-core 2.19 (Helm 3), then the cluster tests (end to
# end and modules) on ansible-core 2.21 (Helm 4): both lanes in one command.
# The first lane runs tests/unit with pytest and again through `ansible-test
# units` as collections run it (tests/quality/test_quality_gates.py::
# test_ansible_test_units), where the cluster tests skip: each of ansible-test's
# forked children would start a control plane of its own.
#
# The lanes run side by side (most of a cluster test is waiting for the control
# plane, so two fit on two cores): the second lane's output goes to
# tests/output/lane2.log and is printed after the first lane's; make test
# fails if either lane failed.
test: setup-test setup-lane2 setup-importer
	@mkdir -p tests/output
	@$(BIN2)/python -m pytest -m cluster -p no:cacheprovider $(CLUSTER_TESTS) > tests/output/lane2.log 2>&1 & \
	lane2=$$!; \
	$(BIN)/python -m pytest; lane1=$$?; \
	wait $$lane2; lane2_status=$$?; \
	echo "================ second lane (ansible-core 2.21, Helm 4): tests/output/lane2.log ================"; \
	cat tests/output/lane2.log; \
	echo "first lane: exit $$lane1; second lane: exit $$lane2_status"; \
	test $$lane1 -eq 0 -a $$lane2_status -eq 0

test-lane2: setup-lane2
	$(BIN2)/python -m pytest -m cluster -p no:cacheprovider $(CLUSTER_TESTS)

setup-lane2: $(VENV2)/.lane2 link

$(VENV2)/.lane2: requirements-lane2.txt
	@test -n "$(PYTHON_LANE2)" || { echo "the second test lane needs Python 3.12 or later (set PYTHON_LANE2=...)"; exit 1; }
	$(PYTHON_LANE2) -m venv $(VENV2)
	$(BIN2)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN2)/python -m pip install --quiet -r requirements-lane2.txt
	touch $@

setup-importer: $(VENV_IMPORTER)/.importer

$(VENV_IMPORTER)/.importer: requirements-importer.txt
	$(PYTHON) -m venv $(VENV_IMPORTER)
	$(VENV_IMPORTER)/bin/python -m pip install --quiet --upgrade pip==26.3
	$(VENV_IMPORTER)/bin/python -m pip install --quiet -r requirements-importer.txt
	touch $@

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

# Cluster mode on the test control plane (10 and 100 apps): prints wall time,
# Helm releases and API requests of a converge, a no-op rerun and kubectl apply.
bench-cluster: setup-test
	$(BIN)/python tools/benchmark_cluster.py

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
	rm -rf $(VENV) $(VENV2) $(VENV_IMPORTER) .collections build tests/output
