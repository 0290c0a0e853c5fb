# shellcheck shell=bash
# The browser tests of the sandbox view and of the web console: headless Debian Chromium,
# driven by playwright-core (infra/browser-test/ack.mjs, then console.mjs with axe-core), against
# one real warroom-local. Source after infra/lib/common.sh; it defines functions only.
#
#   browser_test [PYTHON]   installs Debian's chromium if /usr/bin/chromium is missing
#                           (apt-get: needs root), runs `npm ci` in infra/browser-test when
#                           node_modules is missing or package-lock.json changed, builds
#                           warroom-local (debug), starts it on a free loopback port (PYTHON
#                           picks the port, default python3) with a fresh data directory,
#                           waits for /healthz, runs ack.mjs, then console.mjs against the
#                           same stack (each with its own exit status), stops the stack and
#                           returns non-zero if either failed. Screenshots: $OUTPUT_DIR/
#                           sandbox-ack.png and console-*.png (or sandbox-ack-failed.png,
#                           console-failed.png); banner: $OUTPUT_DIR/
#                           warroom-local-browser.out; log (stderr): warroom-local-browser.log
#                           in $WARROOM_TEST_LOG_DIR (else $OUTPUT_DIR).
#   stop_browser_stack      stops what browser_test started (SIGTERM, SIGKILL after 5 s) and
#                           removes its data directory; safe to call twice: call it from the
#                           EXIT trap too, as stop_emulator is.

BROWSER_TEST_DIR=infra/browser-test

_browser_install_chromium() {
    [[ -x /usr/bin/chromium ]] && return 0
    if ((EUID != 0)); then
        say "/usr/bin/chromium is missing and installing it needs root:"
        say "  apt-get install -y chromium"
        return 1
    fi
    say "installing chromium (Debian package; about a minute)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || return 1
    [[ -x /usr/bin/chromium ]]
}

# npm ci only when node_modules is missing or the lock changed since the last install.
_browser_npm_ci() {
    local stamp=$BROWSER_TEST_DIR/node_modules/.package-lock.sha256 want have=""
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        say "node and npm are needed for the browser test (Node.js 20 or later)"
        return 1
    fi
    want=$(sha256sum "$BROWSER_TEST_DIR/package-lock.json" | cut -d' ' -f1)
    [[ -f $stamp ]] && have=$(cat "$stamp")
    if [[ -d $BROWSER_TEST_DIR/node_modules && $have == "$want" ]]; then
        say "up to date ($BROWSER_TEST_DIR/node_modules matches package-lock.json)"
        return 0
    fi
    say "\$ npm ci --no-audit --no-fund (in $BROWSER_TEST_DIR)"
    (cd "$BROWSER_TEST_DIR" && npm ci --no-audit --no-fund --loglevel=error) || return 1
    # Written last, so an interrupted install is redone next time.
    printf '%s\n' "$want" >"$stamp"
}

# The stack itself is infra/lib/stack.sh's (sourced by test.sh before this file).
stop_browser_stack() {
    stop_local_stack
}

browser_test() { # [PYTHON]
    local python=${1:-python3} out=${OUTPUT_DIR:-.test-output} url log data rc=0 console_rc=0
    mkdir -p "$out"
    _browser_install_chromium || return 1
    say "$(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
    _browser_npm_ci || return 1

    start_local_stack browser "$python" || return 1
    url=$LOCAL_STACK_URL
    log=$LOCAL_STACK_LOG
    data=$LOCAL_STACK_DATA

    say "\$ WARROOM_URL=$url node $BROWSER_TEST_DIR/ack.mjs"
    WARROOM_URL=$url WARROOM_TEST_OUTPUT=$out node "$BROWSER_TEST_DIR/ack.mjs" || rc=$?
    if ((rc != 0)); then
        say "the browser test failed (exit $rc); last lines of $log:"
        tail -n 20 "$log" || true
    fi
    # The console's test reads the demo keys from the stack's data directory.
    say "\$ WARROOM_URL=$url WARROOM_DATA_DIR=$data node $BROWSER_TEST_DIR/console.mjs"
    WARROOM_URL=$url WARROOM_DATA_DIR=$data WARROOM_TEST_OUTPUT=$out node "$BROWSER_TEST_DIR/console.mjs" || console_rc=$?
    if ((console_rc != 0)); then
        say "the console's browser test failed (exit $console_rc); last lines of $log:"
        tail -n 20 "$log" || true
    fi
    stop_browser_stack
    ((rc != 0)) && return "$rc"
    return "$console_rc"
}
