# shellcheck shell=bash
# A warroom-local for a test step: the debug binary (built if needed) on a free loopback
# port with a fresh data directory, in demo mode (in-process sandboxes, the demo tenant and
# its keys in $LOCAL_STACK_DATA/demo-keys.json). Source after infra/lib/common.sh.
#
#   start_local_stack NAME [PYTHON]  builds and starts it; sets LOCAL_STACK_URL,
#                                    LOCAL_STACK_PID, LOCAL_STACK_DATA. Banner (shows the
#                                    demo keys once, by design): $OUTPUT_DIR/warroom-local-NAME.out;
#                                    log (stderr): warroom-local-NAME.log in
#                                    $WARROOM_TEST_LOG_DIR (else $OUTPUT_DIR), so the
#                                    secrets-in-logs step searches it too.
#   stop_local_stack                 SIGTERM (SIGKILL after 5 s), removes the data directory;
#                                    safe to call twice: call it from the EXIT trap too.

LOCAL_STACK_PID=""
LOCAL_STACK_DATA=""
LOCAL_STACK_URL=""
LOCAL_STACK_LOG=""

# /healthz must answer 200 (not just any HTTP answer) while the process lives.
_stack_wait_healthy() { # URL PID TIMEOUT_SECONDS
    local url=$1 pid=$2 deadline
    deadline=$(($(date +%s) + $3))
    while (($(date +%s) < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        curl -fs -o /dev/null --max-time 2 "$url/healthz" && return 0
        sleep 0.2
    done
    return 1
}

start_local_stack() { # NAME [PYTHON]
    local name=$1 python=${2:-python3} out=${OUTPUT_DIR:-.test-output} port banner
    mkdir -p "$out"
    say "\$ cargo build --workspace --locked --bin warroom-local"
    cargo build --workspace --locked --bin warroom-local || return 1
    port=$(free_port "$python") || return 1
    LOCAL_STACK_URL="http://127.0.0.1:$port"
    LOCAL_STACK_LOG=${WARROOM_TEST_LOG_DIR:-$out}/warroom-local-$name.log
    banner=$out/warroom-local-$name.out
    mkdir -p "$(dirname "$LOCAL_STACK_LOG")"
    LOCAL_STACK_DATA=$(mktemp -d "${TMPDIR:-/tmp}/warroom-$name-data.XXXXXX") || return 1
    say "starting warroom-local on 127.0.0.1:$port (data: $LOCAL_STACK_DATA, log: $LOCAL_STACK_LOG)"
    RUST_LOG=${WARROOM_TEST_LOG:-debug,hyper=info,hyper_util=info,h2=info,tower=info,redb=info} \
        target/debug/warroom-local --listen "127.0.0.1:$port" --data-dir "$LOCAL_STACK_DATA" >"$banner" 2>"$LOCAL_STACK_LOG" &
    LOCAL_STACK_PID=$!
    if ! _stack_wait_healthy "$LOCAL_STACK_URL" "$LOCAL_STACK_PID" 30; then
        say "warroom-local did not answer $LOCAL_STACK_URL/healthz within 30 s; last lines of $banner and $LOCAL_STACK_LOG:"
        tail -n 10 "$banner" || true
        tail -n 30 "$LOCAL_STACK_LOG" || true
        stop_local_stack
        return 1
    fi
}

stop_local_stack() {
    if [[ -n $LOCAL_STACK_PID ]] && kill -0 "$LOCAL_STACK_PID" 2>/dev/null; then
        kill -TERM "$LOCAL_STACK_PID" 2>/dev/null || true
        for _ in {1..50}; do
            kill -0 "$LOCAL_STACK_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$LOCAL_STACK_PID" 2>/dev/null; then
            say "warroom-local did not stop within 5 s of SIGTERM: killing it"
            kill -KILL "$LOCAL_STACK_PID" 2>/dev/null || true
        fi
        wait "$LOCAL_STACK_PID" 2>/dev/null || true
    fi
    LOCAL_STACK_PID=""
    if [[ -n $LOCAL_STACK_DATA ]]; then
        rm -rf "$LOCAL_STACK_DATA"
        LOCAL_STACK_DATA=""
    fi
}
