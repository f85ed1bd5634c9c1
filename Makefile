# The two commands a newcomer needs: `make run` and `make test`. Both set everything up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench install clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The demo organization's local root; it must sit inside LOCAL_PROJECT_ROOTS.
DEMO_PROJECTS ?= $(CURDIR)/demo-projects

run: $(STAMP)
	@# PostgreSQL (README, "Tenancy in the database"): with DATABASE_SUPERUSER_URL set, create the
	@# owner and application roles and the database when missing. SQLite (the default) needs none.
	if [ -n "$$DATABASE_SUPERUSER_URL" ]; then DEBUG=$${DEBUG:-1} $(BIN)/python manage.py ensure_db_roles; fi
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --no-input
	DEBUG=$${DEBUG:-1} LOCAL_PROJECT_ROOTS=$${LOCAL_PROJECT_ROOTS:-$(DEMO_PROJECTS)} $(BIN)/python manage.py bootstrap_demo --url http://$(HOST):$(PORT) --projects $(DEMO_PROJECTS)
	DEBUG=$${DEBUG:-1} LOCAL_PROJECT_ROOTS=$${LOCAL_PROJECT_ROOTS:-$(DEMO_PROJECTS)} $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	DEBUG=1 $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
