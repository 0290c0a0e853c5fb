# shellcheck shell=bash
# The browser test of the sandbox view: headless Debian Chromium, driven by playwright-core
# (infra/browser-test/ack.mjs), against a real warroom-local. Source after
# infra/lib/common.sh; it defines functions only.
#
#   browser_test [PYTHON]   installs Debian's chromium if /usr/bin/chromium is missing
#                           (apt-get: needs root), runs `npm ci` in infra/browser-test when
#                           node_modules is missing or package-lock.json changed, builds
#                           warroom-local (debug), starts it on a free loopback port (PYTHON
#                           picks the port, default python3) with a fresh data directory,
#                           waits for /healthz, runs ack.mjs, stops the stack and returns the
#                           test's status. Screenshot: $OUTPUT_DIR/sandbox-ack.png (or
#                           sandbox-ack-failed.png); banner: $OUTPUT_DIR/
#                           warroom-local-browser.out; log (stderr): warroom-local-browser.log
#                           in $WARROOM_TEST_LOG_DIR (else $OUTPUT_DIR).
#   stop_browser_stack      stops what browser_test started (SIGTERM, SIGKILL after 5 s) and
#                           removes its data directory; safe to call twice: call it from the
#                           EXIT trap too, as stop_emulator is.

BROWSER_TEST_DIR=infra/browser-test
BROWSER_STACK_PID=""
BROWSER_STACK_DATA=""

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

# /healthz must answer 200 (not just any HTTP answer) while the process lives.
_browser_wait_healthy() { # URL PID TIMEOUT_SECONDS
    local url=$1 pid=$2 deadline
    deadline=$(($(date +%s) + $3))
    while (($(date +%s) < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        curl -fs -o /dev/null --max-time 2 "$url/healthz" && return 0
        sleep 0.2
    done
    return 1
}

stop_browser_stack() {
    if [[ -n $BROWSER_STACK_PID ]] && kill -0 "$BROWSER_STACK_PID" 2>/dev/null; then
        kill -TERM "$BROWSER_STACK_PID" 2>/dev/null || true
        for _ in {1..50}; do
            kill -0 "$BROWSER_STACK_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$BROWSER_STACK_PID" 2>/dev/null; then
            say "warroom-local did not stop within 5 s of SIGTERM: killing it"
            kill -KILL "$BROWSER_STACK_PID" 2>/dev/null || true
        fi
        wait "$BROWSER_STACK_PID" 2>/dev/null || true
    fi
    BROWSER_STACK_PID=""
    if [[ -n $BROWSER_STACK_DATA ]]; then
        rm -rf "$BROWSER_STACK_DATA"
        BROWSER_STACK_DATA=""
    fi
}

browser_test() { # [PYTHON]
    local python=${1:-python3} out=${OUTPUT_DIR:-.test-output} port url log rc=0
    mkdir -p "$out"
    _browser_install_chromium || return 1
    say "$(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
    _browser_npm_ci || return 1

    say "\$ cargo build --workspace --locked --bin warroom-local"
    cargo build --workspace --locked --bin warroom-local || return 1

    port=$(free_port "$python") || return 1
    url="http://127.0.0.1:$port"
    # stdout is the startup banner (it shows the demo keys once, by design); stderr is the
    # log, kept with the suite's other logs when WARROOM_TEST_LOG_DIR is set, so the
    # secrets-in-logs step searches it too.
    log=${WARROOM_TEST_LOG_DIR:-$out}/warroom-local-browser.log
    local banner=$out/warroom-local-browser.out
    mkdir -p "$(dirname "$log")"
    BROWSER_STACK_DATA=$(mktemp -d "${TMPDIR:-/tmp}/warroom-browser-data.XXXXXX") || return 1
    say "starting warroom-local on 127.0.0.1:$port (data: $BROWSER_STACK_DATA, log: $log)"
    RUST_LOG=${WARROOM_TEST_LOG:-debug,hyper=info,hyper_util=info,h2=info,tower=info,redb=info} \
        target/debug/warroom-local --listen "127.0.0.1:$port" --data-dir "$BROWSER_STACK_DATA" >"$banner" 2>"$log" &
    BROWSER_STACK_PID=$!
    if ! _browser_wait_healthy "$url" "$BROWSER_STACK_PID" 30; then
        say "warroom-local did not answer $url/healthz within 30 s; last lines of $banner and $log:"
        tail -n 10 "$banner" || true
        tail -n 30 "$log" || true
        stop_browser_stack
        return 1
    fi

    say "\$ WARROOM_URL=$url node $BROWSER_TEST_DIR/ack.mjs"
    WARROOM_URL=$url WARROOM_TEST_OUTPUT=$out node "$BROWSER_TEST_DIR/ack.mjs" || rc=$?
    stop_browser_stack
    if ((rc != 0)); then
        say "the browser test failed (exit $rc); last lines of $log:"
        tail -n 20 "$log" || true
    fi
    return "$rc"
}
