# Two set-up commands, each self-contained on a fresh machine with Python 3.11 and make:
#   make run   — the app on the built-in demo district, on this computer only (no sign-in needed)
#   make test  — the whole test suite
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test screenshots lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m streamlit run app.py --server.address 127.0.0.1

# Two workers (one per core of a small CI machine), each test file on one of them: its servers and browser are shared by its tests.
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile

# The README's pictures, taken by the browser test in Chromium (docs/screenshots/); not by make test.
screenshots: $(STAMP)
	CERS_SCREENSHOTS=1 $(PY) -m pytest -q -p no:cacheprovider tests/e2e/test_browser.py tests/e2e/test_csv_bundle.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache
