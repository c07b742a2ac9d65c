# Two commands do all set-up on a fresh machine with Python >= 3.11:
#   make demo   create .venv, install, run the main job on data_samples/acme
#   make test   same set-up, then the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKSPACE ?= data_samples/acme
OUT ?= reports

.PHONY: demo test stress lab bench install browser clean validate ralph

# A real Learning Record Store for tests/io/test_lrs.py: Ralph in its own venv,
# because it pins versions (fastapi, httpx) that lopsnb's environment must not
# be downgraded to. Kept out of git (build/).
RALPH_VENV := build/ralph-venv
RALPH_STAMP := $(RALPH_VENV)/.installed
RALPH_PINS := "ralph-malph[cli,lrs]==5.1.0" "requests==2.32.3"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

# Best effort: without the package index the LRS tests skip, saying why.
$(RALPH_STAMP): Makefile
	@{ $(PYTHON) -m venv $(RALPH_VENV) && $(RALPH_VENV)/bin/python -m pip install --quiet $(RALPH_PINS) && touch $(RALPH_STAMP); } || \
	  echo "Ralph LRS could not be installed into $(RALPH_VENV): the LRS tests of tests/io/test_lrs.py will skip" >&2

ralph: $(RALPH_STAMP)

demo: $(STAMP)
	$(BIN)/lopsnb demo $(WORKSPACE) --out $(OUT)

# Headless Chromium for the browser tests of the shared reports (Debian package).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is missing: install it (Debian: sudo apt-get install chromium) to run the browser tests" >&2; \
	  fi; }

test: $(STAMP) browser $(RALPH_STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -p no:cacheprovider --nbmake tests notebooks

# The whole suite beside four CPU-bound processes, as on a busy machine (issue 12).
# The burners stop after an hour at the latest and are killed when the suite ends.
stress: $(STAMP) browser $(RALPH_STAMP)
	@pids=""; for i in 1 2 3 4; do timeout 3600 $(BIN)/python -c "while True: pass" & pids="$$pids $$!"; done; \
	trap 'kill $$pids 2>/dev/null' EXIT INT TERM; \
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -p no:cacheprovider --nbmake tests notebooks

# Notebooks open on the sample workspace by default (their `workspace` parameter).
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# Published examples reproduced live: docs/validation.md and docs/validation.html (about 2 minutes).
validate: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m lopsnb.report.validation notebooks/validation.ipynb --markdown docs/validation.md --html docs/validation.html

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache $(RALPH_VENV)
