.PHONY: install test lint format typecheck bench
install:
	python3 -m pip install -e '.[test]'
test:
	python3 -m pytest -q
lint:
	ruff check src tests benchmarks
	ruff format --check src tests benchmarks
typecheck:
	mypy
format:
	ruff check --fix src tests benchmarks
	ruff format src tests benchmarks
