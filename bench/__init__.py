"""The benchmark harness: `python -m bench` (or `make bench`).

It seeds a throwaway database (var/bench/bench.sqlite3, or CRM_BENCH_DATABASE_URL), runs
every registered scenario through Django's test client and writes docs/benchmarks.md.
Scenarios live in bench/scenarios.py; the machinery in bench/harness.py.
"""
