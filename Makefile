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
# Test processes: tracing a Keras step is single-threaded Python, so two processes keep
# both cores of the development machine busy (18.5 min on one, see README).
TEST_WORKERS ?= 2
RUN_DIR ?= runs/umea-$(PROFILE)
# Building a wheel needs only setuptools: the dev venv's Python when there is one.
DIST_PY = $(if $(wildcard $(PY)),$(PY),$(PYTHON))
CHECK_VENV := build/check-dist/venv
CHECK_RUN := build/check-dist/run

.PHONY: install test lint reproduce-umea reproduce-rotation benchmarks dist check-dist clean docs

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(if $(TF_PIN),"$(TF_PIN)") -e ".[$(TF_EXTRA),test]"
	touch $(STAMP)

test: install
	$(PY) -m pytest -q -n $(TEST_WORKERS) tests

lint: install
	$(VENV)/bin/ruff check keras_ssl tests benchmarks examples
	$(VENV)/bin/ruff format --check keras_ssl tests benchmarks examples
	$(PY) tests/check_notebooks.py notebooks/*.ipynb

reproduce-umea: install
	$(VENV)/bin/keras-ssl reproduce umea --profile $(PROFILE) --data $(DATA) --output $(RUN_DIR)

# The rotation report (001) on the 40-class Tiny ImageNet subset.
TINY_DATA ?= ../shared/data/tiny-imagenet-200-40class.zip
reproduce-rotation: install
	$(VENV)/bin/keras-ssl reproduce rotation-tiny-imagenet --profile $(PROFILE) --data $(TINY_DATA) \
		--output runs/rotation-tiny-imagenet-$(PROFILE)

benchmarks: install
	$(PY) benchmarks/pretrain_throughput.py
	$(PY) benchmarks/input_pipeline.py
	$(PY) benchmarks/startup.py

# The documentation site (docs/, mkdocs.yml) into build/site; --strict fails on broken
# links, missing references and unimportable settings models. The docs extra is
# installed into .venv the first time.
docs: install
	$(PY) -c "import mkdocs, material, mkdocstrings_handlers.python" 2>/dev/null || \
		$(PY) -m pip install -q -e ".[docs]"
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir build/site

# Wheel and sdist into dist/: `python -m build` where installed, else pip's wheel and
# setuptools' sdist hook (no download needed).
dist:
	rm -rf dist build/lib build/bdist.*
	if $(DIST_PY) -m build --version >/dev/null 2>&1; then \
		$(DIST_PY) -m build --outdir dist . ; \
	else \
		$(DIST_PY) -m pip wheel -q --no-deps --no-build-isolation --wheel-dir dist . && \
		$(DIST_PY) -c "from setuptools import build_meta; build_meta.build_sdist('dist')" ; \
	fi
	ls -l dist

# The wheel in a fresh venv (not .venv: nothing of the clone is importable there), then
# `keras-ssl --help` and a one-epoch pretraining run outside the clone. Takes minutes:
# pip installs TensorFlow and the other dependencies. Not part of `make test`.
check-dist: dist
	rm -rf build/check-dist
	$(DIST_PY) -m venv $(CHECK_VENV)
	$(CHECK_VENV)/bin/python -m pip install -q $(if $(TF_PIN),"$(TF_PIN)") "$$(ls dist/keras_ssl-*.whl)[$(TF_EXTRA)]"
	mkdir -p $(CHECK_RUN)
	cd $(CHECK_RUN) && ../venv/bin/python -c "import keras_ssl; print(keras_ssl.__file__)" | grep site-packages
	cd $(CHECK_RUN) && ../venv/bin/keras-ssl --help
	cd $(CHECK_RUN) && ../venv/bin/keras-ssl pretrain --data $(abspath $(DATA)) --max-images 256 \
		--encoder small_cnn --image-size 32 --epochs 1 --batch-size 64 --output encoder.keras --verbose 2
	test -s $(CHECK_RUN)/encoder.keras
	@echo "check-dist: the wheel installs; keras-ssl --help and a pretraining run work from it"

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
