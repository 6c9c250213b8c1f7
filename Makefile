# Developer entry points; the work is done by scripts/dev.py, run with a Python >= 3.12 that
# scripts/find-python finds.
#
#   make run       set up, start PostgreSQL/Redis (embedded unless DATABASE_URL/REDIS_URL are
#                  set), migrate, load the demo data once, serve http://127.0.0.1:8000 (PORT=)
#                  with one Celery worker and beat; Ctrl-C stops it all
#   make test      set up, start the services, run pytest (more arguments: ARGS="-x -k foo"
#                  or PYTEST_ARGS)
#   make check     ruff check, ruff format --check, makemigrations --check, then the tests
#   make setup     create .venv and install the Python and front-end dependencies only
#   make services  start the embedded PostgreSQL and Redis in the foreground
#   make manage    manage.py with the services up: make manage ARGS="createsuperuser"
#   make env       print DATABASE_URL, REDIS_URL and the dev secrets, for other tools
#   make stop      stop embedded services left running (e.g. after a crash)
#   make clean     stop the embedded services; remove .venv node_modules static/vendor var

DEV := scripts/dev
PORT ?= 8000
ARGS ?=
export PORT ARGS

.DEFAULT_GOAL := help
.PHONY: help run test check setup services manage env stop clean

help:
	@sed -n '/^#   make run/,/^$$/s/^# //p' Makefile

run:
	@$(DEV) run

test:
	@$(DEV) test

check:
	@$(DEV) check

setup:
	@$(DEV) setup

services:
	@$(DEV) services

manage:
	@$(DEV) manage $(ARGS)

env:
	@$(DEV) env

stop:
	@$(DEV) stop

clean:
	@$(DEV) clean
