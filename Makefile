# timbre_jax: `make demo` and `make test` do all the set-up on a fresh Debian machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PRESETS := one_octave five_octave violin keys

.PHONY: install demo check test corpora lint bench clean
.SECONDARY:  # keep rendered audio when a corpus is built from it

$(STAMP): pyproject.toml launch/install_system_deps.sh
	bash launch/install_system_deps.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,gui]'
	# tinysoundfont declares PyAudio, which timbre_jax never uses and which needs PortAudio's
	# C headers to build: install the renderer alone.
	$(PY) -m pip install --quiet --no-deps 'tinysoundfont>=0.3.7'
	touch $(STAMP)

install: $(STAMP)

data/audio/%/manifest.json: | $(STAMP)
	$(PY) -m timbre_jax.corpus render --preset $* --out data/audio/$* --overwrite

data/corpora/%/corpus.json: data/audio/%/manifest.json
	$(PY) -m timbre_jax.corpus build --audio data/audio/$* --out data/corpora/$* --overwrite

DEMO := runs/demo
demo: data/corpora/one_octave/corpus.json
	$(PY) -m timbre_jax.corpus info data/corpora/one_octave
	$(PY) -m timbre_jax.train --config configs/default.py --workdir $(DEMO) --config.train.epochs=20
	$(PY) -m timbre_jax.mesh --workdir $(DEMO) --points 50
	$(PY) -m timbre_jax.embed --workdir $(DEMO)
	$(PY) -m timbre_jax.render --workdir $(DEMO) --latent 0.3,0.7 --note E --seconds 4 \
		--phase rtpghi --out $(DEMO)/audio/demo.wav --overwrite
	@echo "Plots are in $(DEMO)/plots/, the WAV in $(DEMO)/audio/. Play the model you trained:"
	@echo "    $(PY) -m timbre_jax.synth --workdir $(DEMO)"
	@echo "or a shipped model, no training needed (results/pretrained: 300 epochs on this corpus;"
	@echo "keys and violin play the key you press, across the pad):"
	@echo "    $(PY) -m timbre_jax.synth --model one_octave    # or --model keys, violin"

corpora: $(foreach p,$(PRESETS),data/corpora/$(p)/corpus.json)
	for p in $(PRESETS); do $(PY) -m timbre_jax.corpus info data/corpora/$$p; done

# Tests run on every core (pytest-xdist), except the audio tier: it streams through a JACK
# server in real time and runs alone, after the rest. tests/conftest.py keeps compiled XLA
# programs in .cache/jax between runs, so a second run compiles little (`make clean` removes it).
PYTEST := $(PY) -m pytest -q

# the fast tier: every module, no test marked slow or audio (under 60 s on 2 cores)
check: $(STAMP)
	$(PYTEST) -n auto --dist worksteal -m "not slow and not audio"

# the whole suite, what CI runs: both tiers run, and it fails if either does
test: $(STAMP)
	$(PYTEST) -n auto --dist worksteal -m "not audio"; rest=$$?; \
	$(PYTEST) -m audio; audio=$$?; \
	exit $$(( rest || audio ))

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) launch/bench_corpus.py
	$(PY) launch/bench_train.py
	$(PY) launch/bench_mesh.py

clean:
	rm -rf $(VENV) data runs .cache
