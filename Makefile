# Two environments, on purpose: the app's holds only requirements-app.txt (so a frozen build cannot
# drag TensorFlow in); the dev one adds training, export and test tools.
PYTHON ?= python3
DEV := .venv
APPENV := .venv-app
BUILDENV := .venv-build
EXE := dist/digit-recognizer
MNIST_DIR ?= $(abspath ../shared/data/mnist)
export MNIST_DIR

.PHONY: app test gui-tools train export exe bench clean

# pip shows a progress bar for each download; the lines with ">>" say what a long step is doing.
PIP_FLAGS := --progress-bar on --disable-pip-version-check

$(DEV)/.done: requirements-train.txt requirements-app.txt
	@echo ">> creating $(DEV): TensorFlow, tf2onnx, onnxruntime, pytest (about 1 GB; 1-3 minutes)"
	$(PYTHON) -m venv $(DEV)
	$(DEV)/bin/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(DEV)/bin/python -m pip install $(PIP_FLAGS) -r requirements-train.txt
	touch $@

$(APPENV)/.done: requirements-app.txt
	@echo ">> creating $(APPENV): numpy, Pillow, onnxruntime only (about 30 s)"
	$(PYTHON) -m venv $(APPENV)
	$(APPENV)/bin/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(APPENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements-app.txt
	touch $@

$(BUILDENV)/.done: requirements-build.txt requirements-app.txt
	@echo ">> creating $(BUILDENV): the app's requirements + PyInstaller, nothing else (about 30 s)"
	$(PYTHON) -m venv $(BUILDENV)
	$(BUILDENV)/bin/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(BUILDENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements-build.txt
	touch $@

$(EXE): $(BUILDENV)/.done build.spec $(wildcard app/models/*.onnx) $(wildcard app/*.py)
	@echo ">> building $(EXE) with PyInstaller (about 1-2 minutes, quiet until it is done)"
	$(BUILDENV)/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build build.spec
	@ls -l $(EXE)

exe: $(EXE)  ## build the one-file executable dist/digit-recognizer

app: $(APPENV)/.done  ## run the desktop app
	$(APPENV)/bin/python -m app

gui-tools:  ## Xvfb and xdotool for the GUI tests: installed with apt-get when root, else the command is printed
	@sh .ci/gui-tools

test: gui-tools $(DEV)/.done $(EXE)  ## build the executable, run the whole test suite
	@echo ">> running the tests (about 5-8 minutes on 2 cores: a quick training run, exports, GUI under Xvfb)"
	$(DEV)/bin/python -m pytest -v --durations=10

train: $(DEV)/.done  ## train and compare the three CNNs on the full MNIST
	$(DEV)/bin/python -m training

export: $(DEV)/.done  ## export the latest run's chosen model to app/models/digits.onnx
	$(DEV)/bin/python -m export

bench: $(DEV)/.done  ## measure everything against its goals -> BENCHMARKS.md
	$(DEV)/bin/python -m benchmarks

clean:
	rm -rf $(DEV) $(APPENV) $(BUILDENV) build dist .pytest_cache
