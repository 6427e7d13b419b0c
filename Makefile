# Two commands do everything on a fresh Debian 12 / Ubuntu machine (set-up included):
#   make sample   simulate the embedded sample L1C product and run L2A_Process.py on it
#   make test     run the test suite
PY := .venv/bin/python
SAMPLE_DIR := sample
OUT_DIR := out

.PHONY: setup sample test bench clean

setup:
	./scripts/setup.sh

$(SAMPLE_DIR)/.done: | setup
	$(PY) -m sen2cor3.simulate $(SAMPLE_DIR)
	touch $@

sample: setup $(SAMPLE_DIR)/.done
	mkdir -p $(OUT_DIR)
	$(PY) L2A_Process.py $$(ls -d $(SAMPLE_DIR)/S2*_MSIL1C_*.SAFE | head -n 1) --output_dir $(OUT_DIR)

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/full_tile.py

clean:
	rm -rf $(OUT_DIR) $(SAMPLE_DIR) .pytest_cache
