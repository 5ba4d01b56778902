# mpm3d: every target is idempotent. `make demo` and `make test` set everything up first.
SHELL := /bin/bash
SYSTEM_PYTHON ?= /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := qgis python3-qgis qgis-providers python3-gdal gdal-bin python3-sklearn \
	python3-matplotlib python3-scipy python3-venv python3-pip qttools5-dev-tools
# What fits QGIS's Python, by its version: Debian 12 (QGIS 3.22) has Python 3.11, Debian 13 (QGIS 3.40) 3.13.
# requirements-py<version>.txt pins numpy and torch for it; on 3.13 both come from Debian (numpy 2.2, which its
# GDAL is built against, and python3-torch, a CPU build), so no PyPI torch (a CUDA build of several GB) is fetched.
PY_VERSION := $(shell $(SYSTEM_PYTHON) -c 'import sys; print("%d%d" % sys.version_info[:2])' 2>/dev/null)
REQUIREMENTS := requirements-py$(PY_VERSION).txt
# Packages whose metadata pins a numpy other than the one QGIS's GDAL is built against, installed with --no-deps.
NODEPS_REQUIREMENTS := requirements-py$(PY_VERSION)-nodeps.txt
APT_PACKAGES_313 := python3-torch
APT_PACKAGES += $(APT_PACKAGES_$(PY_VERSION))
DEMO_DIR ?= demo_output
BENCH_PROFILE ?= quick
BENCH_VARIANT ?= as_designed
PEER_VENV := .venv-peer
CF_VENV := build/venv-cf
CF_APT_PACKAGES := libudunits2-0
CF_TABLE_WHEEL := compliance-checker==6.1.0
QGIS_PROFILE_DIR ?= $(HOME)/.local/share/QGIS/QGIS3/profiles/default
export QT_QPA_PLATFORM ?= offscreen
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup system-packages test test-qgis340 lint demo install zip help translations translations-update bench bench-ensembles bench-selection \
	bench-profiles bench-blocks bench-adversary bench-cpu-step bench-block-model bench-holes bench-size bench-fuzz bench-gpu bench-importance clean

setup: system-packages $(VENV)/.installed translations

# QGIS, GDAL and the scientific stack come from Debian; installed here when root, else the command is printed.
system-packages:
	@test -e $(REQUIREMENTS) || { echo "No pins for Python $(PY_VERSION) ($(REQUIREMENTS)): Debian 12 and 13 are supported."; exit 1; }
	@if $(SYSTEM_PYTHON) -c "import qgis.core, osgeo.gdal, sklearn, scipy, matplotlib, ensurepip" 2>/dev/null \
	    && { [ "$(PY_VERSION)" != 313 ] || $(SYSTEM_PYTHON) -c "import torch" 2>/dev/null; } \
	    && command -v qgis_process >/dev/null && command -v $(LRELEASE) >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(APT_PACKAGES); \
	else \
	  echo "Missing system packages. Run:  sudo apt-get install -y $(APT_PACKAGES)"; exit 1; \
	fi

# The interface's translations: i18n/mpm3d_<locale>.ts (kept with scripts/update_translations.py) compiled to the
# .qm files the plugin loads for QGIS's locale (lrelease, from Debian's qttools5-dev-tools).
LRELEASE ?= lrelease
TRANSLATIONS := $(patsubst %.ts,%.qm,$(wildcard i18n/*.ts))
translations: $(TRANSLATIONS)

i18n/%.qm: i18n/%.ts
	$(LRELEASE) -silent $< -qm $@

# After changing a user-visible string: new strings go into i18n/*.ts as unfinished (translate them, e.g. with
# `linguist i18n/mpm3d_zh_CN.ts`; core's texts are in i18n/core_zh_CN.json), then `make translations`.
translations-update: setup
	QT_QPA_PLATFORM=offscreen $(PY) scripts/update_translations.py

# torch etc. in a venv of QGIS's own Python that also sees the system packages (QGIS, GDAL).
$(VENV)/.installed: requirements.txt $(REQUIREMENTS) $(wildcard $(NODEPS_REQUIREMENTS))
	test -x $(PY) || $(SYSTEM_PYTHON) -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r $(REQUIREMENTS)
	if [ -e $(NODEPS_REQUIREMENTS) ]; then $(PY) -m pip install -q --disable-pip-version-check --no-deps \
	  -r $(NODEPS_REQUIREMENTS); fi
	touch $@

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -q tests

# The same suite against QGIS 3.40 LTR (Debian 13: Python 3.13, numpy 2, GDAL 3.10) in a Debian 13 root made with
# debootstrap in build/debian13 (once, about 2 minutes and 3.7 GB; as root). QGIS340_TARGETS=demo runs the demo.
QGIS340_TARGETS ?= test
test-qgis340:
	@command -v debootstrap >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap; }
	scripts/qgis340_root.sh $(QGIS340_TARGETS)

lint: setup
	$(PY) -m ruff check .

demo: setup
	$(PY) scripts/demo.py --out $(DEMO_DIR)

# Link this folder into the user's QGIS profile as plugin "mpm3d" and enable it.
install: setup
	mkdir -p "$(QGIS_PROFILE_DIR)/python/plugins"
	ln -sfn "$(CURDIR)" "$(QGIS_PROFILE_DIR)/python/plugins/mpm3d"
	$(PY) scripts/qgis_process.py plugins enable mpm3d

# The plugin zip for "Install from ZIP" and plugins.qgis.org, from a commit (ZIP_REF, default HEAD: never a
# half-edited working tree) less the development files, checked offline as the repository checks uploads
# (scripts/check_plugin_zip.py). The maintainer's e-mail and URLs are not in metadata.txt (nothing invented):
# give them here for an upload-ready zip.
DIST_DIR ?= dist
ZIP_REF ?= HEAD
ZIP_BUILD := $(DIST_DIR)/.zip-build
ZIP_EXCLUDE := ':!tests' ':!bench' ':!scripts' ':!.ci' ':!Makefile' ':!requirements*.txt' ':!pyproject.toml' \
	':!.gitignore' ':!i18n/.gitignore'
zip:
	rm -rf "$(ZIP_BUILD)" && mkdir -p "$(ZIP_BUILD)"
	git archive --format=tar --prefix=mpm3d/ "$(ZIP_REF)" -- . $(ZIP_EXCLUDE) | tar -x -C "$(ZIP_BUILD)"
	for ts in "$(ZIP_BUILD)"/mpm3d/i18n/*.ts; do [ -e "$$ts" ] || continue; \
	  $(LRELEASE) -silent "$$ts" -qm "$${ts%.ts}.qm" && rm "$$ts"; done
	$(if $(PLUGIN_EMAIL),echo "email=$(PLUGIN_EMAIL)" >> "$(ZIP_BUILD)/mpm3d/metadata.txt")
	$(if $(PLUGIN_TRACKER),echo "tracker=$(PLUGIN_TRACKER)" >> "$(ZIP_BUILD)/mpm3d/metadata.txt")
	$(if $(PLUGIN_REPOSITORY),echo "repository=$(PLUGIN_REPOSITORY)" >> "$(ZIP_BUILD)/mpm3d/metadata.txt")
	rm -f "$(DIST_DIR)/mpm3d.zip" && cd "$(ZIP_BUILD)" && $(SYSTEM_PYTHON) -m zipfile -c "$(abspath $(DIST_DIR))/mpm3d.zip" mpm3d
	rm -rf "$(ZIP_BUILD)"
	$(SYSTEM_PYTHON) scripts/check_plugin_zip.py "$(DIST_DIR)/mpm3d.zip"
	@echo "$(DIST_DIR)/mpm3d.zip"

# The help pages in help/, from the algorithms' own help texts (a test fails when they are out of date).
help: setup
	QT_QPA_PLATFORM=offscreen $(PY) scripts/build_help.py

# The peer row (skada's DANN) needs newer scikit-learn/pandas than Debian's: a venv of its own.
$(PEER_VENV)/.installed: bench/requirements-peer.txt
	test -x $(PEER_VENV)/bin/python || $(SYSTEM_PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/python -m pip install -q --disable-pip-version-check -r bench/requirements-peer.txt
	touch $@

# BENCH_VARIANT=same_ore_zone: the ablation without the ore-position shift, written to bench/same_ore_zone/.
bench: setup $(PEER_VENV)/.installed
	$(PY) bench/run.py --profile $(BENCH_PROFILE) --variant $(BENCH_VARIANT) --peer-python $(PEER_VENV)/bin/python \
	  $(if $(filter-out as_designed,$(BENCH_VARIANT)),--out-dir bench/$(BENCH_VARIANT))
	$(if $(filter as_designed,$(BENCH_VARIANT)),$(PY) bench/blocks.py --profile $(BENCH_PROFILE))
# Ensembles of every network method and the forest over base seeds, with the usefulness of uncertainty
# and novelty -> bench/ensembles/results.md (quick: 2 CPU cores, 3 members; full: a GPU, 5 members).
bench-ensembles: setup
	$(PY) bench/ensembles.py --profile $(BENCH_PROFILE)

# Label-free rules for choosing a network's epoch, picked on seeds 0-4, confirmed on 5-9 -> bench/selection/results.md
bench-selection: setup
	$(PY) bench/selection.py --profile $(BENCH_PROFILE)

# When does transfer without labels help? Every adaptation against source-only training and a target-trained oracle
# on three pair profiles, 10 seeds paired, the default rule written first -> bench/profiles/results.md (quick: 2 CPU
# cores, about 40 minutes; resumes where it stopped)
bench-profiles: setup $(PEER_VENV)/.installed
	$(PY) bench/profiles.py --profile $(BENCH_PROFILE) --peer-python $(PEER_VENV)/bin/python

# Block training against the paper's per-patch training, DANN-CTA paired by seed, operations per labelled voxel
# counted, the default rule written first -> bench/blocks/results.md
bench-blocks: setup
	$(PY) bench/blocks.py --profile $(BENCH_PROFILE)

# DANN-CTA at every default with and without its reversed gradient, seeds 0-9 -> bench/adversary/results.md
# (about 20 minutes on 2 CPU cores)
bench-adversary: setup
	$(PY) bench/adversary.py --profile defaults

# One training step of each mode on this CPU: GFLOP/s against the peak, threads, channels-last, oneDNN
# -> bench/cpu_step/results.md (about 5 minutes)
bench-cpu-step: setup
	$(PY) bench/cpu_step.py

# Target AUC against the number of target drill holes (k = 0-20), the train mode's label weight picked on seeds
# 0-4 and confirmed on 5-9 first -> bench/holes/results.md and results.png (quick: 2 CPU cores, about an hour)
bench-holes: setup
	$(PY) bench/holes.py --profile $(BENCH_PROFILE)

# The whole chain through the algorithms on a real-size deposit pair (100 x 500 x 500 voxels each): time and peak
# memory per stage -> bench/size/results.md. SIZE_SHAPE=20x100x100 tries it small (results_20x100x100.md).
SIZE_SHAPE ?= 100x500x500
bench-size: setup
	$(PY) bench/size.py --shape $(SIZE_SHAPE)

# On a GPU server with PyTorch, scikit-learn and pytest (no QGIS, no GDAL; no setup: GPU_PYTHON is its Python),
# most wanted first: the CUDA tests (-> GPU_OUT/cuda_tests.xml; a failure does not stop the rest), one DANN-CTA
# member against five side by side (-> GPU_OUT/profile_training.json), and the full ensemble benchmark
# (-> GPU_OUT/ensembles_full/, saved after every run). A cut-short run resumes from the committed
# bench/gpu/ensembles_full. Dense prediction alone: bench/gpu_profile.py --parts dense.
GPU_PYTHON ?= python3
GPU_OUT ?= bench/gpu
bench-gpu:
	mkdir -p $(GPU_OUT)/ensembles_full
	if [ -e bench/gpu/ensembles_full/results.json ] && [ ! -e $(GPU_OUT)/ensembles_full/results.json ]; then \
	  cp bench/gpu/ensembles_full/results.json $(GPU_OUT)/ensembles_full/; fi
	-$(GPU_PYTHON) -m pytest -q tests/core/test_members.py tests/core/test_predict.py tests/core/test_train.py \
	  -k "cuda or gpu_dense" --junitxml=$(GPU_OUT)/cuda_tests.xml
	$(GPU_PYTHON) bench/gpu_profile.py --parts training --training-runs one together \
	  --out $(GPU_OUT)/profile_training.json
	$(GPU_PYTHON) bench/ensembles.py --profile full --device cuda --resume --out-dir $(GPU_OUT)/ensembles_full

# Does evidence importance find the synthetic ore's controls, and what it and why here cost -> bench/importance/results.md
bench-importance: setup
	$(PY) bench/importance.py --part checks
	$(PY) bench/importance.py --part speed --members 1

# Reading a block-model CSV (Import block model): blocks/s and peak RSS against file size -> bench/blockmodel/results.md
BLOCK_COUNTS ?= 1000000 25000000
bench-block-model: setup
	$(PY) bench/blockmodel.py --blocks $(BLOCK_COUNTS)

bench-fuzz: setup  # thousands of hostile cube and model files -> bench/fuzz_results.md
	$(PY) bench/fuzz_readers.py

# The cube files opened by real clients: the CF checker, xarray and VTK's CF reader (ParaView's) -> bench/cf_results.md
.PHONY: check-cf
check-cf: setup $(CF_VENV)/.installed
	$(PY) bench/check_cf.py --check-python $(CF_VENV)/bin/python --standard-names $(CF_VENV)/cf-standard-name-table.xml

$(CF_VENV)/.installed: bench/requirements-cf.txt
	@$(SYSTEM_PYTHON) -c "import ctypes.util, sys; sys.exit(not ctypes.util.find_library('udunits2'))" || if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(CF_APT_PACKAGES); \
	else echo "Missing the UDUNITS-2 library. Run:  sudo apt-get install -y $(CF_APT_PACKAGES)"; exit 1; fi
	test -x $(CF_VENV)/bin/python || $(SYSTEM_PYTHON) -m venv $(CF_VENV)
	$(CF_VENV)/bin/python -m pip install -q --disable-pip-version-check -r bench/requirements-cf.txt
	$(CF_VENV)/bin/python -m pip download -q --disable-pip-version-check --no-deps "$(CF_TABLE_WHEEL)" -d $(CF_VENV)/wheels
	$(CF_VENV)/bin/python -c "import glob, sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(glob.glob(sys.argv[1])[0]).read('compliance_checker/data/cf-standard-name-table.xml'))" \
	  "$(CF_VENV)/wheels/compliance_checker-*.whl" > $(CF_VENV)/cf-standard-name-table.xml
	touch $@

clean:
	rm -rf --one-file-system build dist $(DEMO_DIR) .pytest_cache .ruff_cache
