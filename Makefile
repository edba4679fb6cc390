# Two environments, on purpose: the app's holds only requirements-app.txt (so a frozen build cannot
# drag TensorFlow in); the dev one adds training, export and test tools.
PYTHON ?= python3
DEV := .venv
APPENV := .venv-app
MNIST_DIR ?= $(abspath ../shared/data/mnist)
export MNIST_DIR

.PHONY: app test train export clean

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

app: $(APPENV)/.done  ## run the desktop app
	$(APPENV)/bin/python -m app

test: $(DEV)/.done  ## run the whole test suite (GUI tests need xvfb and xdotool)
	$(DEV)/bin/python -m pytest -q

train: $(DEV)/.done  ## train and compare the three CNNs on the full MNIST
	$(DEV)/bin/python -m training

export: $(DEV)/.done  ## export the latest run's chosen model to app/models/digits.onnx
	$(DEV)/bin/python -m export

clean:
	rm -rf $(DEV) $(APPENV) build dist .pytest_cache
