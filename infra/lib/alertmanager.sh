# shellcheck shell=bash
# A real Prometheus Alertmanager (Debian's prometheus-alertmanager, 0.25) for the ignored
# tests that need one (status sync: snooze → silence). Source after infra/lib/common.sh;
# it defines functions only.
#
#   start_alertmanager [PYTHON]  installs the package if needed (apt-get: needs root), writes
#                                a config under $OUTPUT_DIR/alertmanager/, starts it on a free
#                                loopback port (PYTHON picks the port, default python3), waits
#                                for /-/ready and exports WARROOM_ALERTMANAGER_URL.
#                                WARROOM_ALERTMANAGER_URL already set: that one is used.
#   stop_alertmanager            stops what start_alertmanager started (safe to call twice;
#                                call it from the EXIT trap, as stop_emulator is).
#   _alertmanager_install        only installs the package when missing (infra/test.sh's
#                                ensure_alertmanager uses it; tests that start their own
#                                instance need just the binary on PATH).
#
# The route sends every group to a webhook receiver at $WARROOM_ALERTMANAGER_WEBHOOK_URL
# (default http://127.0.0.1:9/hooks/alertmanager: the discard port, so notifications fail
# quietly in the log when no intake is listening) with group_wait/group_interval 1s.

ALERTMANAGER_PID=""

_alertmanager_install() {
    command -v prometheus-alertmanager >/dev/null && return 0
    if ((EUID != 0)); then
        say "prometheus-alertmanager is not installed and installing it needs root:"
        say "  apt-get install -y prometheus-alertmanager"
        return 1
    fi
    say "installing prometheus-alertmanager (Debian package; about 20 s)"
    # Noninteractive: the package must not stop to ask anything on a CI machine.
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-alertmanager >/dev/null || return 1
    command -v prometheus-alertmanager >/dev/null
}

_alertmanager_config() { # FILE
    local webhook=${WARROOM_ALERTMANAGER_WEBHOOK_URL:-http://127.0.0.1:9/hooks/alertmanager}
    cat >"$1" <<YAML
# Written by infra/lib/alertmanager.sh for the tests; rewritten on every run.
route:
  receiver: warroom
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: warroom
    webhook_configs:
      - url: "${webhook}"
        send_resolved: true
YAML
}

# /-/ready answers 503 until the configuration is loaded, so wait for a 2xx (not just any
# HTTP answer, as wait_for_http does).
_alertmanager_wait_ready() { # URL PID TIMEOUT_SECONDS
    local url=$1 pid=$2 deadline
    deadline=$(($(date +%s) + $3))
    while (($(date +%s) < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        curl -fs -o /dev/null --max-time 2 "$url/-/ready" && return 0
        sleep 0.1
    done
    return 1
}

start_alertmanager() { # [PYTHON]
    local python=${1:-python3} dir port log url
    if [[ -n ${WARROOM_ALERTMANAGER_URL:-} ]]; then
        say "using the Alertmanager given by the environment: WARROOM_ALERTMANAGER_URL=$WARROOM_ALERTMANAGER_URL"
        return 0
    fi
    _alertmanager_install || return 1
    dir=${OUTPUT_DIR:-.test-output}/alertmanager
    # Fresh storage every run: silences and notification log from an earlier run must not
    # leak into this one.
    rm -rf "$dir/data"
    mkdir -p "$dir/data"
    _alertmanager_config "$dir/alertmanager.yml"
    port=$(free_port "$python") || return 1
    log=$dir/alertmanager.log
    url="http://127.0.0.1:$port"
    say "starting $(prometheus-alertmanager --version 2>&1 | head -n 1) on 127.0.0.1:$port (log: $log)"
    # An empty cluster address turns clustering (and its gossip port) off.
    prometheus-alertmanager \
        --config.file="$dir/alertmanager.yml" \
        --storage.path="$dir/data" \
        --web.listen-address="127.0.0.1:$port" \
        --cluster.listen-address= \
        >"$log" 2>&1 &
    ALERTMANAGER_PID=$!
    if ! _alertmanager_wait_ready "$url" "$ALERTMANAGER_PID" 15; then
        say "Alertmanager was not ready within 15 s; last lines of $log:"
        tail -n 30 "$log" || true
        stop_alertmanager
        return 1
    fi
    export WARROOM_ALERTMANAGER_URL=$url
    say "Alertmanager is up (pid $ALERTMANAGER_PID): WARROOM_ALERTMANAGER_URL=$url"
}

stop_alertmanager() {
    [[ -n $ALERTMANAGER_PID ]] || return 0
    if kill -0 "$ALERTMANAGER_PID" 2>/dev/null; then
        kill "$ALERTMANAGER_PID" 2>/dev/null || true
        wait "$ALERTMANAGER_PID" 2>/dev/null || true
    fi
    ALERTMANAGER_PID=""
}
