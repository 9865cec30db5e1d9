# gpuplan: `make demo` runs the main job, `make test` runs every gate. Both install what they need.
PYTHON ?= python3
VENV := .venv
UV := .tools/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install demo test lint bench clean

$(UV):
	@if command -v uv >/dev/null 2>&1; then mkdir -p .tools/bin && ln -sf "$$(command -v uv)" $(UV); \
	else $(PYTHON) -m venv .tools && .tools/bin/pip install --quiet uv; fi

# Bytecode is compiled at install (site-packages by uv, gpuplan's own sources by compileall):
# without it every command recompiles its imports (issue 15: about 0.7 s of each start-up).
$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras --compile-bytecode --python $(PYTHON)
	$(VENV)/bin/python -m compileall -q src
	@touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/gpuplan demo --html out/gpuplan-seed-report.html

lint: install
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest -q --doctest-modules src tests

bench: install
	$(VENV)/bin/python -m compileall -q src
	$(VENV)/bin/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
