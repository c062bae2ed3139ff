# subpipe — every target installs what it needs itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
MODEL  := models/whisper-base
SAMPLE := audio_samples/sample
OUT    ?= out

.PHONY: setup model demo test lint bench-align bench festival browser sample clean

setup: $(VENV)/.installed $(MODEL)/.verified

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,model]'
	touch $@

model: $(MODEL)/.verified

$(MODEL)/.verified: $(VENV)/.installed
	$(PY) -m pipeline.model build $(MODEL)

demo: setup
	$(VENV)/bin/subpipe run $(SAMPLE).ogg $(SAMPLE).ru-en.txt --out $(OUT)

test: setup browser festival
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check pipeline tests
	$(VENV)/bin/ruff format --check pipeline tests

# Headless Chromium for the page tests (Debian's package; Playwright drives it).
browser:
	@test -x /usr/bin/chromium || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# Festival's Russian voice makes test speech whose true timings are known.
festival:
	@command -v text2wave >/dev/null && test -d /usr/share/festival/voices/russian || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq festival festvox-ru)

# Regenerates the committed sample (needs Festival); nobody needs this to run the demo.
sample: setup festival
	$(PY) -m pipeline.bench.synth sample ../shared/seed/digital-rights-2021.ru-en.txt audio_samples

bench-align: setup festival
	$(PY) -m pipeline.bench.align

clean:
	rm -rf $(OUT) .cache .pytest_cache
