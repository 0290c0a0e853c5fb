# shellcheck shell=bash
# The suite's logs and the secrets-in-logs check. Source after infra/lib/common.sh; it
# defines functions only.
#
#   prepare_test_logs DIR   empties DIR and exports WARROOM_TEST_LOG_DIR (absolute) for
#                           the tests (warroom_testkit::logging writes one file per test
#                           process there, at trace level for Warroom's crates) and for
#                           the warroom-local processes the tests and the browser step start.
#   scan_test_logs          searches every file in it for the secrets of the test suite:
#                           the secret literals of the sources (found by name) and credentials
#                           minted at run time (found by shape); fails on any, and when fewer
#                           than TEST_LOG_MIN_FILES files were written (logging was off).

TEST_LOG_MIN_FILES=${TEST_LOG_MIN_FILES:-20}

prepare_test_logs() { # DIR
    local dir=$1
    rm -rf "$dir"
    mkdir -p "$dir"
    WARROOM_TEST_LOG_DIR=$(cd "$dir" && pwd)
    export WARROOM_TEST_LOG_DIR
    say "test logs go to $WARROOM_TEST_LOG_DIR"
}

scan_test_logs() {
    [[ -n ${WARROOM_TEST_LOG_DIR:-} ]] || {
        say "WARROOM_TEST_LOG_DIR is not set: prepare_test_logs first"
        return 1
    }
    say "\$ cargo run --locked --quiet --bin scan-test-logs -- --logs $WARROOM_TEST_LOG_DIR ..."
    cargo run --locked --quiet --bin scan-test-logs -- --logs "$WARROOM_TEST_LOG_DIR" \
        --source tests --source shared --source functions --source infra \
        --min-files "$TEST_LOG_MIN_FILES"
}
