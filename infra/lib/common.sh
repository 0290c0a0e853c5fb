# shellcheck shell=bash
# Helpers shared by the infra scripts. Source it; it defines functions only.
#
# Step bookkeeping: every step of a script is announced with a `==>` line and ends with a
# `<-- name: ok|FAILED|skipped (N.N s)` line; `steps_summary` prints them all at the end.
#
#   run_step  NAME FUNC [ARGS...]  a step the rest depends on: FUNC runs under `set -e`, and a
#                                  failure ends the script (the EXIT trap reports it).
#   check_step NAME FUNC [ARGS...] a step whose failure is recorded, then the script goes on.
#                                  Bash ignores `set -e` inside a function called as a
#                                  condition, so FUNC must return non-zero itself
#                                  (`cmd || return 1`, or end with the command that decides).
#   skip_step NAME REASON          record a skipped step.

STEP_NAMES=()
STEP_RESULTS=()
CURRENT_STEP=""

_now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
_elapsed() { awk -v a="$1" -v b="$(_now)" 'BEGIN { printf "%.1f", b - a }'; }

say() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

_record() { # NAME RESULT
    STEP_NAMES+=("$1")
    STEP_RESULTS+=("$2")
}

run_step() {
    local name=$1 start
    shift
    start=$(_now)
    CURRENT_STEP=$name
    say ""
    say "==> ${name}"
    "$@"
    CURRENT_STEP=""
    say "<-- ${name}: ok ($(_elapsed "$start") s)"
    _record "$name" "ok ($(_elapsed "$start") s)"
}

check_step() {
    local name=$1 start
    shift
    start=$(_now)
    CURRENT_STEP=$name
    say ""
    say "==> ${name}"
    if "$@"; then
        say "<-- ${name}: ok ($(_elapsed "$start") s)"
        _record "$name" "ok ($(_elapsed "$start") s)"
    else
        say "<-- ${name}: FAILED ($(_elapsed "$start") s)"
        _record "$name" "FAILED ($(_elapsed "$start") s)"
    fi
    CURRENT_STEP=""
}

skip_step() {
    say ""
    say "==> ${1}: skipped (${2})"
    _record "$1" "skipped (${2})"
}

# Number of failed steps so far.
steps_failed() {
    local n=0 r
    for r in "${STEP_RESULTS[@]}"; do
        [[ $r == FAILED* ]] && n=$((n + 1))
    done
    printf '%s' "$n"
}

# Prints one line per step; a step that ended the script early is listed as FAILED.
steps_summary() {
    local i
    say ""
    say "==> Summary"
    for i in "${!STEP_NAMES[@]}"; do
        printf '    %-28s %s\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}"
    done
    if [[ -n $CURRENT_STEP ]]; then
        printf '    %-28s %s\n' "$CURRENT_STEP" "FAILED (stopped the run)"
    fi
}

# A free TCP port on 127.0.0.1 (the kernel picks it; a small race with other programs remains).
free_port() { # PYTHON
    "$1" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Waits until URL answers HTTP at all (any status counts) while PID is alive.
wait_for_http() { # URL PID TIMEOUT_SECONDS
    local url=$1 pid=$2 deadline
    deadline=$(($(date +%s) + $3))
    while (($(date +%s) < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        # curl exits 0 on any HTTP answer without -f; 7 = connection refused.
        if curl -s -o /dev/null --max-time 2 "$url"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}
