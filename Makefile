# Two environments, on purpose: the app's holds only requirements-app.txt (so a frozen build cannot
# drag TensorFlow in); the dev one adds training, export and test tools.
PYTHON ?= python3
DEV := .venv
APPENV := .venv-app
BUILDENV := .venv-build
EXE := dist/digit-recognizer
MNIST_DIR ?= $(abspath ../shared/data/mnist)
export MNIST_DIR

.PHONY: app test train export exe bench clean

$(DEV)/.done: requirements-train.txt requirements-app.txt
	$(PYTHON) -m venv $(DEV)
	$(DEV)/bin/python -m pip install -q --upgrade pip
	$(DEV)/bin/python -m pip install -q -r requirements-train.txt
	touch $@

$(APPENV)/.done: requirements-app.txt
	$(PYTHON) -m venv $(APPENV)
	$(APPENV)/bin/python -m pip install -q --upgrade pip
	$(APPENV)/bin/python -m pip install -q -r requirements-app.txt
	touch $@

$(BUILDENV)/.done: requirements-build.txt requirements-app.txt
	$(PYTHON) -m venv $(BUILDENV)
	$(BUILDENV)/bin/python -m pip install -q --upgrade pip
	$(BUILDENV)/bin/python -m pip install -q -r requirements-build.txt
	touch $@

$(EXE): $(BUILDENV)/.done build.spec app/models/digits.onnx $(wildcard app/*.py)
	$(BUILDENV)/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build build.spec

exe: $(EXE)  ## build the one-file executable dist/digit-recognizer

app: $(APPENV)/.done  ## run the desktop app
	$(APPENV)/bin/python -m app

test: $(DEV)/.done $(EXE)  ## build the executable, run the whole test suite (GUI tests need xvfb and xdotool)
	$(DEV)/bin/python -m pytest -q

train: $(DEV)/.done  ## train and compare the three CNNs on the full MNIST
	$(DEV)/bin/python -m training

export: $(DEV)/.done  ## export the latest run's chosen model to app/models/digits.onnx
	$(DEV)/bin/python -m export

bench: $(DEV)/.done  ## measure everything against its goals -> BENCHMARKS.md
	$(DEV)/bin/python -m benchmarks

clean:
	rm -rf $(DEV) $(APPENV) $(BUILDENV) build dist .pytest_cache
