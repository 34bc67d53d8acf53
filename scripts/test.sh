#!/usr/bin/env bash
# The whole check, as CI runs it: lint, then the unit/integration suite on SQLite and on
# PostgreSQL, then the Playwright end-to-end journeys. Fails fast; always cleans up the
# throwaway PostgreSQL cluster it started.
#
# Environment:
#   CI=true                 missing Chromium/fonts/PostgreSQL is a failure, never a skip
#   CRM_TEST_DATABASE_URL   use this PostgreSQL instead of starting a throwaway cluster
# Exported for the tests:
#   CRM_SKIP_E2E=1          set when Chromium or the CJK font is missing outside CI
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ci=${CI:-false}
bin=.venv/bin
pytest_args=(-n 2 -m "not e2e" -q)

declare -a summary=()
pg_state=""

say() { printf '\n==> %s\n' "$*" >&2; }

print_summary() {
    ((${#summary[@]})) || return 0
    printf '\n---- test summary ----\n' >&2
    printf '%s\n' "${summary[@]}" >&2
}

cleanup() {
    local rc=$?
    if [[ -n $pg_state ]]; then
        PG_TMP_STATE=$pg_state scripts/pg-tmp.sh stop || true
        rm -f "$pg_state"
    fi
    print_summary
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# record NAME RC [NOTE]: add a summary line; stop the run if the suite failed.
record() {
    local name=$1 rc=$2 note=${3:-}
    if [[ $rc -eq 0 ]]; then
        summary+=("PASS  $name${note:+  ($note)}")
    else
        summary+=("FAIL  $name  (exit $rc)${note:+  ($note)}")
        exit "$rc"
    fi
}

skip() { summary+=("SKIP  $1  ($2)"); }

if [[ ! -x $bin/pytest ]]; then
    echo "error: $bin/pytest not found; run 'make install' first" >&2
    exit 1
fi

# ---- lint -------------------------------------------------------------------
say "lint: ruff check, ruff format --check, mypy, makemigrations --check"
rc=0
{
    "$bin/ruff" check . &&
        "$bin/ruff" format --check . &&
        "$bin/mypy" crm config &&
        "$bin/crm" makemigrations --check --dry-run
} || rc=$?
record "lint" "$rc"

# ---- browser for the e2e suite -------------------------------------------------
have_browser() { [[ -x /usr/bin/chromium ]] && fc-list 2>/dev/null | grep -qi wqy; }

if ! have_browser; then
    if [[ $(id -u) -eq 0 ]]; then
        say "installing Chromium and the WenQuanYi CJK font (apt-get)"
        if ! { apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei; }; then
            echo "error: could not install chromium/fonts-wqy-microhei" >&2
            [[ $ci == true ]] && exit 1
        fi
    fi
fi
if ! have_browser; then
    cat >&2 <<'MSG'
Chromium (/usr/bin/chromium) or a CJK font (fonts-wqy-microhei) is missing.
Install them with:
    sudo apt-get install chromium fonts-wqy-microhei
MSG
    if [[ $ci == true ]]; then
        echo "error: CI=true: end-to-end tests may not be skipped" >&2
        exit 1
    fi
    echo "Skipping the end-to-end suite (CRM_SKIP_E2E=1)." >&2
    export CRM_SKIP_E2E=1
fi

# ---- suite 1: SQLite ------------------------------------------------------------
say "suite 1: unit + integration on SQLite"
rc=0
# Unset both URLs so a developer's own database setting cannot turn this into a PG run.
env -u CRM_TEST_DATABASE_URL -u CRM_DATABASE_URL "$bin/pytest" "${pytest_args[@]}" || rc=$?
record "sqlite      pytest -m 'not e2e'" "$rc"

# ---- suite 2: PostgreSQL --------------------------------------------------------
say "suite 2: unit + integration on PostgreSQL"
pg_note="CRM_TEST_DATABASE_URL"
if [[ -z ${CRM_TEST_DATABASE_URL:-} ]]; then
    pg_state=$(mktemp /tmp/crm-pg-state.XXXXXX)
    rm -f "$pg_state" # pg-tmp.sh refuses to start over an existing state file
    rc=0
    url=$(PG_TMP_STATE=$pg_state scripts/pg-tmp.sh start) || rc=$?
    if [[ $rc -eq 3 && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "PostgreSQL binaries not found: installing Debian's postgresql package" >&2
        if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2; then
            rm -f "$pg_state"
            rc=0
            url=$(PG_TMP_STATE=$pg_state scripts/pg-tmp.sh start) || rc=$?
        fi
    fi
    if [[ $rc -eq 3 ]]; then
        pg_state=""
        if [[ $ci == true ]]; then
            echo "error: CI=true: PostgreSQL binaries are required" >&2
            record "postgresql  pytest -m 'not e2e'" 1 "no PostgreSQL binaries"
        fi
        echo "PostgreSQL binaries not found: skipping the PostgreSQL suite." >&2
        echo "Install postgresql (15+) or set CRM_TEST_DATABASE_URL to run it." >&2
        skip "postgresql  pytest -m 'not e2e'" "no PostgreSQL binaries found"
    elif [[ $rc -ne 0 ]]; then
        record "postgresql  pytest -m 'not e2e'" "$rc" "could not start a throwaway cluster"
    else
        export CRM_TEST_DATABASE_URL=$url
        pg_note="throwaway cluster"
    fi
fi
if [[ -n ${CRM_TEST_DATABASE_URL:-} ]]; then
    rc=0
    "$bin/pytest" "${pytest_args[@]}" || rc=$?
    record "postgresql  pytest -m 'not e2e'" "$rc" "$pg_note"
    if [[ -n $pg_state ]]; then
        PG_TMP_STATE=$pg_state scripts/pg-tmp.sh stop || true
        rm -f "$pg_state"
        pg_state=""
    fi
    unset CRM_TEST_DATABASE_URL
fi

# ---- suite 3: end-to-end ----------------------------------------------------------
say "suite 3: end-to-end (Playwright + Chromium, SQLite)"
if [[ ${CRM_SKIP_E2E:-} == 1 ]]; then
    skip "e2e         pytest -m e2e" "Chromium or CJK font missing"
else
    rc=0
    env -u CRM_TEST_DATABASE_URL -u CRM_DATABASE_URL "$bin/pytest" -m e2e -q -p no:xdist || rc=$?
    if [[ $rc -eq 5 ]]; then
        echo "note: no end-to-end tests were collected" >&2
        record "e2e         pytest -m e2e" 0 "no e2e tests collected"
    else
        record "e2e         pytest -m e2e" "$rc"
    fi
fi
