# Two commands do all set-up on a fresh machine with Python >= 3.11:
#   make demo   create .venv, install, run the main job on data_samples/acme
#   make test   same set-up, then the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKSPACE ?= data_samples/acme
OUT ?= reports

.PHONY: demo test lab bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/lopsnb demo $(WORKSPACE) --out $(OUT)

test: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -p no:cacheprovider --nbmake tests notebooks

lab: $(STAMP)
	LOPSNB_WORKSPACE=$(abspath $(WORKSPACE)) $(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
