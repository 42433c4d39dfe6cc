# All set-up happens here: `make test` and `make reproduce-umea` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# `cpu` on machines without a GPU (this one); `gpu` pulls tensorflow[and-cuda].
TF_EXTRA ?= cpu
# The CPU wheel cached on the development machines; no pin for the GPU extra.
ifeq ($(TF_EXTRA),cpu)
TF_PIN ?= tensorflow-cpu==2.21.0
endif
STAMP := $(VENV)/.installed-$(TF_EXTRA)
DATA ?= ../shared/data/cifar10-train.zip
PROFILE ?= cpu-small
RUN_DIR ?= runs/umea-$(PROFILE)

.PHONY: install test lint reproduce-umea benchmarks clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(if $(TF_PIN),"$(TF_PIN)") -e ".[$(TF_EXTRA),test]"
	touch $(STAMP)

test: install
	$(PY) -m pytest -q tests

lint: install
	$(VENV)/bin/ruff check keras_ssl tests benchmarks examples
	$(VENV)/bin/ruff format --check keras_ssl tests benchmarks examples

reproduce-umea: install
	$(VENV)/bin/keras-ssl reproduce umea --profile $(PROFILE) --data $(DATA) --output $(RUN_DIR)

benchmarks: install
	$(PY) benchmarks/pretrain_throughput.py
	$(PY) benchmarks/input_pipeline.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
