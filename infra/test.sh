#!/usr/bin/env bash
# Warroom's one test command: ./infra/test.sh (runs from any directory).
#
# Steps, each announced with a `==>` line:
#   1. Python test tools: a venv in .venv-test/ from infra/requirements-test.lock (every
#      package pinned with its hashes), made only when missing or when that file,
#      infra/requirements-test.txt or python3's version changed; a lock that does not pin
#      what the .txt names (edited without making the lock again) fails the step.
#   2. Template lint: cfn-lint and `sam validate --lint` on template.yaml (warnings fail too),
#      plus a circular-dependency check that neither linter makes, and a runbook in
#      docs/operability.md for every alarm.
#   3. DynamoDB/SQS emulator: moto in server mode (infra/moto_server.py) on a free loopback
#      port, stopped on exit.
#   4. Alertmanager and Prometheus: Debian's prometheus-alertmanager and prometheus installed
#      if missing (the tests start their own instances: Alertmanager pointed at the bundle
#      they serve, Prometheus scraping warroom-local's /metrics).
#   5. OpenAPI: docs/openapi.json validated with openapi-spec-validator.
#   6. cargo test: every test, the #[ignore]d ones included (they are the ones that need the
#      emulator or Alertmanager; they read WARROOM_DYNAMODB_ENDPOINT / WARROOM_SQS_ENDPOINT,
#      and find prometheus-alertmanager and prometheus on PATH). Run by cargo-nextest when the machine has
#      it (each test its own process, many at once: most tests wait on sockets and timers,
#      not on the CPU; .config/nextest.toml), then the doc tests by cargo test; by
#      `cargo test -- --include-ignored` alone where it has not.
#   6b. Format and lints: cargo fmt --check (rustfmt.toml) and
#      cargo clippy --workspace --all-targets -- -D warnings.
#   7. Fuzz smoke: cargo-fuzz (pinned, installed into .tools/) builds every target of fuzz/
#      and runs each for about 10 s on a copy of its seeds (infra/lib/fuzz.sh; long runs:
#      infra/fuzz.sh).
#   8. Browser test: headless Debian chromium + playwright-core (infra/browser-test) against
#      warroom-local; screenshot in .test-output/sandbox-ack.png.
#   8b. API contract: schemathesis runs docs/openapi.json against warroom-local, all checks
#      and phases (stateful included), a fixed seed and a random one (infra/lib/contract.sh).
#   9. Secrets in logs: steps 6 and 8 log (trace level for Warroom's crates) into
#      .test-output/logs/ (WARROOM_TEST_LOG_DIR); scan-test-logs searches all of it for the
#      suite's secrets (infra/lib/logs.sh).
# Only the venv's own binaries are used (.venv-test/bin/...), never globally installed ones.
#
# Environment:
#   WARROOM_TEST_SKIP_CARGO=1   skip steps 6-9 (to check the tooling while the workspace does
#                               not build yet, or to iterate on the template quickly).
#   WARROOM_DYNAMODB_ENDPOINT, WARROOM_SQS_ENDPOINT
#                               both set: use that emulator instead of starting moto.
#   WARROOM_PYTHON              interpreter for the venv (default: python3).
#
# Adding a step: write a small function below and call it from main() with run_step (the
# rest depends on it: failure stops the run) or check_step (failure is recorded and the run
# goes on). Outputs and logs go to .test-output/ (git-ignored).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"
# shellcheck source=infra/lib/common.sh
source infra/lib/common.sh
# shellcheck source=infra/lib/template_checks.sh
source infra/lib/template_checks.sh
# shellcheck source=infra/lib/alertmanager.sh
source infra/lib/alertmanager.sh
# shellcheck source=infra/lib/prometheus.sh
source infra/lib/prometheus.sh
# shellcheck source=infra/lib/stack.sh
source infra/lib/stack.sh
# shellcheck source=infra/lib/browser.sh
source infra/lib/browser.sh
# shellcheck source=infra/lib/contract.sh
source infra/lib/contract.sh
# shellcheck source=infra/lib/fuzz.sh
source infra/lib/fuzz.sh
# shellcheck source=infra/lib/logs.sh
source infra/lib/logs.sh

VENV_DIR=.venv-test
VENV_BIN=$VENV_DIR/bin
REQUIREMENTS=infra/requirements-test.txt
# Every package of the tree, pinned with hashes (made from $REQUIREMENTS: see its header).
REQUIREMENTS_LOCK=infra/requirements-test.lock
VENV_STAMP=$VENV_DIR/.requirements.sha256
OUTPUT_DIR=.test-output
MOTO_PID=""
RUN_START=$(_now)

# The tests and linters never talk to real AWS: fake credentials, a fixed region, no
# instance-metadata lookups, no SAM telemetry.
setup_env() {
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
    export AWS_ACCESS_KEY_ID=test
    export AWS_SECRET_ACCESS_KEY=test
    export AWS_DEFAULT_REGION=us-east-1
    export AWS_REGION=us-east-1
    export AWS_EC2_METADATA_DISABLED=true
    export SAM_CLI_TELEMETRY=0
    export PIP_DISABLE_PIP_VERSION_CHECK=1
    # A fresh build gains nothing from incremental artefacts, which take gigabytes of disk.
    export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
    if [[ ! -t 1 ]]; then
        export CARGO_TERM_COLOR=never
    fi
    mkdir -p "$OUTPUT_DIR"
}

# ---- step: Python test tools ------------------------------------------------------------

requirements_hash() {
    local python=$1
    {
        cat "$REQUIREMENTS" "$REQUIREMENTS_LOCK"
        "$python" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

# The lock must pin every package $REQUIREMENTS names, at the version it names (an edit of
# the .txt without making the lock again would otherwise install the old pins silently).
# Prints what is missing or different, one a line; nothing when the lock covers the file.
lock_drift() {
    local python=$1
    "$python" - "$REQUIREMENTS" "$REQUIREMENTS_LOCK" <<'PY'
import re, sys
def pins(path, lock):
    out = {}
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip().rstrip("\\").strip()
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:==\s*([^\s;]+))?", line)
        if not m or (lock and line.startswith("--")):
            continue
        out[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return out
wanted, locked = pins(sys.argv[1], False), pins(sys.argv[2], True)
for name, version in wanted.items():
    if name not in locked:
        print(f"{name} is not in the lock")
    elif version and locked[name] != version:
        print(f"{name}: {version} wanted, {locked[name]} locked")
PY
}

ensure_venv() {
    local python=${WARROOM_PYTHON:-python3} want have="" start drift
    command -v "$python" >/dev/null || die "$python not found (needed for the test tools)"
    drift=$(lock_drift "$python") || die "could not compare $REQUIREMENTS with $REQUIREMENTS_LOCK"
    if [[ -n $drift ]]; then
        say "$REQUIREMENTS_LOCK is out of date with $REQUIREMENTS:"
        say "$(sed 's/^/  /' <<<"$drift")"
        say "make the lock again (the commands are in the header of $REQUIREMENTS) and commit it"
        return 1
    fi
    want=$(requirements_hash "$python")
    [[ -f $VENV_STAMP ]] && have=$(cat "$VENV_STAMP")
    if [[ -x $VENV_BIN/python && $have == "$want" ]]; then
        say "up to date ($VENV_DIR matches $REQUIREMENTS_LOCK)"
        return 0
    fi
    if [[ -d $VENV_DIR ]]; then
        say "$REQUIREMENTS, $REQUIREMENTS_LOCK or $python's version changed: rebuilding $VENV_DIR"
        rm -rf "$VENV_DIR"
    fi
    start=$(_now)
    say "creating $VENV_DIR and installing $REQUIREMENTS_LOCK (first run: about a minute)"
    "$python" -m venv "$VENV_DIR"
    # -q keeps pip quiet but still prints warnings and errors.
    # --require-hashes: every package must be the one locked, byte for byte. --no-deps: the
    # lock holds the whole tree, so nothing is resolved anew (pip cannot match a locked
    # `boto3[crt]` to a plain `boto3` requirement in hash mode); `pip check` then proves the
    # tree is complete and consistent.
    "$VENV_BIN/python" -m pip install -q --progress-bar off --require-hashes --no-deps -r "$REQUIREMENTS_LOCK"
    "$VENV_BIN/python" -m pip check
    # The stamp is written last, so an interrupted install is redone next time.
    printf '%s\n' "$want" >"$VENV_STAMP"
    say "installed in $(_elapsed "$start") s:" \
        "$("$VENV_BIN/python" -m pip list --format=freeze 2>/dev/null |
            grep -iE '^(moto|cfn-lint|aws-sam-cli)==' | tr '\n' ' ')"
}

# ---- step: template lint ----------------------------------------------------------------

lint_template() {
    local rc=0
    say "\$ cfn-lint template.yaml"
    "$VENV_BIN/cfn-lint" template.yaml || rc=1
    say "\$ sam validate --lint --region us-east-1"
    "$VENV_BIN/sam" validate --lint --region us-east-1 --template-file template.yaml || rc=1
    say "\$ check_template_cycles (infra/lib/template_checks.sh)"
    check_template_cycles "$VENV_BIN/python" template.yaml || rc=1
    say "\$ check_alarm_runbooks (infra/lib/template_checks.sh)"
    check_alarm_runbooks "$VENV_BIN/python" template.yaml docs/operability.md || rc=1
    return "$rc"
}

# ---- step: DynamoDB/SQS emulator --------------------------------------------------------

start_emulator() {
    local dynamodb=${WARROOM_DYNAMODB_ENDPOINT:-} sqs=${WARROOM_SQS_ENDPOINT:-} port log
    if [[ -n $dynamodb && -n $sqs ]]; then
        say "using the emulator given by the environment:"
        say "  WARROOM_DYNAMODB_ENDPOINT=$dynamodb"
        say "  WARROOM_SQS_ENDPOINT=$sqs"
        return 0
    fi
    if [[ -n $dynamodb || -n $sqs ]]; then
        die "set both WARROOM_DYNAMODB_ENDPOINT and WARROOM_SQS_ENDPOINT, or neither"
    fi
    port=$(free_port "$VENV_BIN/python")
    log=$OUTPUT_DIR/moto.log
    # infra/moto_server.py: moto's server with DynamoDB calls serialised (see its docstring).
    say "starting moto (infra/moto_server.py) on 127.0.0.1:$port (log: $log)"
    "$VENV_BIN/python" infra/moto_server.py 127.0.0.1 "$port" >"$log" 2>&1 &
    MOTO_PID=$!
    if ! wait_for_http "http://127.0.0.1:$port/" "$MOTO_PID" 15; then
        say "moto_server did not answer within 15 s; last lines of $log:"
        tail -n 30 "$log" || true
        return 1
    fi
    export WARROOM_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
    export WARROOM_SQS_ENDPOINT="http://127.0.0.1:$port"
    say "moto is up (pid $MOTO_PID): WARROOM_DYNAMODB_ENDPOINT=WARROOM_SQS_ENDPOINT=http://127.0.0.1:$port"
}

stop_emulator() {
    [[ -n $MOTO_PID ]] || return 0
    if kill -0 "$MOTO_PID" 2>/dev/null; then
        # SIGINT: moto's SIGTERM handler can leave the server running.
        kill -INT "$MOTO_PID" 2>/dev/null || true
        for _ in {1..50}; do
            kill -0 "$MOTO_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
    MOTO_PID=""
}

# ---- step: Alertmanager, OpenAPI ---------------------------------------------------------

ensure_alertmanager() {
    _alertmanager_install || return 1
    say "$(prometheus-alertmanager --version 2>&1 | head -n 1)"
}

validate_openapi() {
    say "\$ openapi-spec-validator docs/openapi.json"
    "$VENV_BIN/openapi-spec-validator" docs/openapi.json
}

# ---- step: cargo test -------------------------------------------------------------------

cargo_test() {
    command -v cargo >/dev/null || {
        say "cargo not found"
        return 1
    }
    # The Lambda bench's smoke test (infra/bench/tests/lambda_bench.rs) runs the six
    # functions' own binaries, which `cargo test` builds only for packages with
    # integration tests.
    cargo build --workspace --locked --bins || return 1
    # --no-fail-fast: one failing test must not hide the others.
    if cargo nextest --version >/dev/null 2>&1; then
        say "\$ cargo nextest run --workspace --locked --run-ignored all (profile: .config/nextest.toml)"
        local rc=0
        cargo nextest run --workspace --locked --no-fail-fast --run-ignored all || rc=1
        say "\$ cargo test --workspace --locked --doc"
        cargo test --workspace --locked --no-fail-fast --doc || rc=1
        return $rc
    fi
    say "cargo-nextest not found: cargo test runs the test binaries one after another"
    cargo test --workspace --locked --no-fail-fast -- --include-ignored
}

# ---- step: format and lints -------------------------------------------------------------

# rustfmt.toml holds the style; clippy's warnings are errors. Both come with the toolchain
# (rustup's default profile); a toolchain without them is named, not skipped.
rust_style() {
    local rc=0 component
    for component in rustfmt clippy; do
        if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
            say "cargo ${component/rustfmt/fmt} is missing: rustup component add $component"
            return 1
        fi
    done
    say "\$ cargo fmt --all --check (and fuzz/)"
    cargo fmt --all --check || rc=1
    (cd fuzz && cargo fmt --check) || rc=1
    say "\$ cargo clippy --workspace --all-targets --locked -- -D warnings"
    cargo clippy --workspace --all-targets --locked -- -D warnings || rc=1
    return "$rc"
}

# ---- main -------------------------------------------------------------------------------

on_exit() {
    local rc=$?
    trap - EXIT
    stop_emulator
    stop_browser_stack
    if ((rc != 0)) && [[ -n $CURRENT_STEP ]]; then
        steps_summary
        say "==> FAILED: '$CURRENT_STEP' stopped the run (exit $rc, $(_elapsed "$RUN_START") s)"
    fi
    exit "$rc"
}

main() {
    trap on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    setup_env

    run_step "Python test tools" ensure_venv
    check_step "Template lint" lint_template
    check_step "OpenAPI document" validate_openapi
    run_step "Alertmanager" ensure_alertmanager
    run_step "Prometheus" ensure_prometheus
    run_step "DynamoDB/SQS emulator" start_emulator
    if [[ ${WARROOM_TEST_SKIP_CARGO:-} == 1 ]]; then
        skip_step "cargo test" "WARROOM_TEST_SKIP_CARGO=1"
        skip_step "Format and lints (rustfmt, clippy)" "WARROOM_TEST_SKIP_CARGO=1"
        skip_step "Browser test (sandbox view)" "WARROOM_TEST_SKIP_CARGO=1"
        skip_step "API contract (schemathesis)" "WARROOM_TEST_SKIP_CARGO=1"
        skip_step "Fuzz smoke" "WARROOM_TEST_SKIP_CARGO=1"
        skip_step "Secrets in logs" "WARROOM_TEST_SKIP_CARGO=1"
    else
        prepare_test_logs "$OUTPUT_DIR/logs"
        check_step "cargo test" cargo_test
        check_step "Format and lints (rustfmt, clippy)" rust_style
        check_step "Fuzz smoke" fuzz_smoke
        check_step "Browser test (sandbox view)" browser_test "$VENV_BIN/python"
        check_step "API contract (schemathesis)" contract_test "$VENV_BIN"
        check_step "Secrets in logs" scan_test_logs
    fi

    stop_emulator
    steps_summary
    local failed
    failed=$(steps_failed)
    if ((failed > 0)); then
        say "==> FAILED: $failed step(s) failed ($(_elapsed "$RUN_START") s)"
        exit 1
    fi
    say "==> OK: every step passed ($(_elapsed "$RUN_START") s)"
}

main "$@"
