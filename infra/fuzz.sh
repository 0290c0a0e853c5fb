#!/usr/bin/env bash
# Long fuzzing runs: ./infra/fuzz.sh [--minutes N] [--jobs J] [TARGET...]
#
# Runs each fuzz target (default: all of fuzz/fuzz_targets) for N minutes (default 10),
# J at a time (default 1; each run is one libFuzzer process, so J should not exceed the
# cores), each on a fresh copy of its seeds (fuzz/seeds/TARGET). Prints, per target,
# seconds, executions, execs/s, final coverage and features, corpus size and crash
# artifacts; exits non-zero if any target crashed, leaked or hung. Runs, corpora and
# artifacts: .test-output/fuzz-long/TARGET/ (git-ignored). Installs cargo-fuzz if needed.
# The test command's short version is the "Fuzz smoke" step (infra/lib/fuzz.sh).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"
# shellcheck source=infra/lib/common.sh
source infra/lib/common.sh
# shellcheck source=infra/lib/fuzz.sh
source infra/lib/fuzz.sh

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

main() {
    local minutes=10 jobs=1 targets=() start
    while (($#)); do
        case $1 in
            --minutes) minutes=${2:?--minutes needs a number}; shift 2 ;;
            --jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
            -h | --help) usage 0 ;;
            -*) say "unknown option $1"; usage 2 ;;
            *) targets+=("$1"); shift ;;
        esac
    done
    [[ $minutes =~ ^[0-9]+$ && $minutes -gt 0 && $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]] ||
        die "--minutes and --jobs take positive whole numbers"
    ((${#targets[@]})) || mapfile -t targets < <(fuzz_targets)
    start=$(_now)
    fuzz_install
    fuzz_build
    say "fuzzing ${#targets[@]} target(s) for $minutes min each, $jobs at a time"
    if fuzz_campaign $((minutes * 60)) "$jobs" .test-output/fuzz-long "${targets[@]}"; then
        say "==> OK: no crash, leak or hang in ${#targets[@]} target(s) ($(_elapsed "$start") s)"
    else
        say "==> FAILED ($(_elapsed "$start") s)"
        exit 1
    fi
}

main "$@"
