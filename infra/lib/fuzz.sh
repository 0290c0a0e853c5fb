# shellcheck shell=bash
# Fuzzing with cargo-fuzz (libFuzzer) over the fuzz/ project: every parser of untrusted
# input (Slack, Feishu, DingTalk and WeCom callback codecs, Feishu, DingTalk and WeCom decryption, the intake webhook parsers,
# the status-sync signature and settings readers). Source after infra/lib/common.sh, from
# the repository root; it defines functions only.
#
#   fuzz_smoke            the test command's step: installs cargo-fuzz, builds every target
#                         once, runs each for WARROOM_FUZZ_SMOKE_SECONDS (default 10) on a
#                         copy of its committed seeds, WARROOM_FUZZ_JOBS (default 2) at a
#                         time; fails naming each target that crashed, leaked or timed out
#                         and its crash artifact.
#   fuzz_install          cargo-fuzz $CARGO_FUZZ_VERSION into .tools/cargo-fuzz (git-ignored),
#                         skipped when that version is already there.
#   fuzz_build            builds every target (fuzz/target, the fuzz crate's own target dir).
#   fuzz_targets          prints the target names, one a line.
#   fuzz_campaign SECONDS JOBS OUTDIR TARGET...
#                         runs each TARGET for SECONDS, JOBS at a time, in OUTDIR/TARGET/
#                         (corpus/ seeded from fuzz/seeds/TARGET, artifacts/, fuzz.log) and
#                         prints a per-target summary; non-zero if any target failed.
#
# Only stable Rust is installed: RUSTC_BOOTSTRAP=1 lets it take the -Zsanitizer flags
# cargo-fuzz passes (fuzzing only; nothing else is built that way). The build has
# AddressSanitizer (cargo-fuzz's default: the AES, base64 and JSON crates have unsafe code)
# and debug assertions and overflow checks (fuzz/Cargo.toml).

CARGO_FUZZ_VERSION=0.13.2
CARGO_FUZZ_ROOT=.tools/cargo-fuzz
FUZZ_PROJECT=fuzz

_cargo_fuzz() { # ARGS... (run inside fuzz/)
    (cd "$FUZZ_PROJECT" && RUSTC_BOOTSTRAP=1 "../$CARGO_FUZZ_ROOT/bin/cargo-fuzz" "$@")
}

fuzz_install() {
    local have="" start
    [[ -x $CARGO_FUZZ_ROOT/bin/cargo-fuzz ]] && have=$("$CARGO_FUZZ_ROOT/bin/cargo-fuzz" --version 2>/dev/null)
    if [[ $have == "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
        say "cargo-fuzz $CARGO_FUZZ_VERSION already in $CARGO_FUZZ_ROOT"
        return 0
    fi
    start=$(_now)
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION into $CARGO_FUZZ_ROOT (about 30 s on 2 cores)"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --root "$CARGO_FUZZ_ROOT" --quiet || return 1
    say "installed in $(_elapsed "$start") s"
}

fuzz_targets() {
    local f
    for f in "$FUZZ_PROJECT"/fuzz_targets/*.rs; do
        f=${f##*/}
        printf '%s\n' "${f%.rs}"
    done
}

fuzz_build() {
    local start
    start=$(_now)
    # fuzz/Cargo.lock is committed and `cargo fuzz build` has no --locked: ask cargo first
    # whether the lock is complete as it is (it fails, naming the change, where building
    # would have to change it), so the build then resolves nothing anew.
    if ! cargo metadata --locked --format-version 1 --manifest-path "$FUZZ_PROJECT/Cargo.toml" >/dev/null; then
        say "$FUZZ_PROJECT/Cargo.lock is out of date with $FUZZ_PROJECT/Cargo.toml: run \`cargo update --workspace --manifest-path $FUZZ_PROJECT/Cargo.toml\` and commit the lock"
        return 1
    fi
    _cargo_fuzz build || return 1
    say "built $(fuzz_targets | wc -l) fuzz targets in $(_elapsed "$start") s"
}

_fuzz_binary() { # TARGET
    local host
    host=$(rustc -vV | sed -n 's/^host: //p')
    printf '%s' "$FUZZ_PROJECT/target/$host/release/$1"
}

# One libFuzzer run in DIR (corpus/, artifacts/, fuzz.log, and a link to the binary: cargo
# replaces a rebuilt binary with a new file, so a rebuild meanwhile cannot change or block
# the run); its exit status is libFuzzer's.
_fuzz_one() { # TARGET SECONDS DIR
    local target=$1 seconds=$2 dir=$3 bin=$3/$1
    rm -rf "$dir"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    ln "$(_fuzz_binary "$target")" "$bin" 2>/dev/null || cp "$(_fuzz_binary "$target")" "$bin"
    # A copy: the runs grow their corpus, never the committed seeds.
    cp "$FUZZ_PROJECT/seeds/$target/"* "$dir/corpus/"
    # -timeout: a callback parser must answer in milliseconds; 10 s of one input is a hang.
    # -rss_limit_mb: 2 GiB is far beyond any parser here, so going over it is a finding.
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/fuzz.log" 2>&1
}

# One summary line from a finished run's log: the last status line and the final stats.
_fuzz_summary() { # TARGET DIR RC WALL_SECONDS
    local target=$1 dir=$2 rc=$3 secs=$4 log="$2/fuzz.log" status execs rate corpus crashes
    status=$(grep -aE '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    corpus=$(find "$dir/corpus" -type f | wc -l)
    crashes=$(find "$dir/artifacts" -type f | wc -l)
    printf '%-20s %6s %12s %9s %7s %7s %7s %8s %s\n' "$target" "$secs" "${execs:-?}" "${rate:-?}" \
        "$(grep -oE 'cov: [0-9]+' <<<"$status" | grep -oE '[0-9]+')" "$(grep -oE 'ft: [0-9]+' <<<"$status" | grep -oE '[0-9]+')" \
        "$corpus" "$crashes" "$([[ $rc == 0 ]] && echo ok || echo "FAILED (exit $rc)")"
}

fuzz_campaign() { # SECONDS JOBS OUTDIR TARGET...
    local seconds=$1 jobs=$2 out=$3 target failed=0 artifact
    shift 3
    for target in "$@"; do
        [[ -d $FUZZ_PROJECT/seeds/$target && -x $(_fuzz_binary "$target") ]] || {
            say "no such fuzz target: $target (known: $(fuzz_targets | tr '\n' ' '))"
            return 1
        }
    done
    mkdir -p "$out"
    # Our own runs only: the caller may have other background jobs (test.sh's moto server),
    # which `jobs` and a bare `wait` would count and wait for.
    local pids=() running pid
    for target in "$@"; do
        while :; do
            running=0
            for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && running=$((running + 1)); done
            ((running < jobs)) && break
            sleep 0.2
        done
        say "fuzzing $target for $seconds s (log: $out/$target/fuzz.log)"
        rm -f "$out/$target.rc"
        # Each run leaves its exit status and wall time in a file: simpler than reaping jobs
        # in order.
        (
            rc=0 start=$(_now)
            _fuzz_one "$target" "$seconds" "$out/$target" || rc=$?
            printf '%s %s\n' "$rc" "$(_elapsed "$start")" >"$out/$target.rc"
        ) &
        pids+=("$!")
    done
    wait "${pids[@]}"
    local -A rcs=() walls=()
    for target in "$@"; do
        read -r "rcs[$target]" "walls[$target]" <"$out/$target.rc" || rcs[$target]=lost
    done
    say ""
    printf '%-20s %6s %12s %9s %7s %7s %7s %8s %s\n' target wall_s execs execs/s cov features corpus crashes result
    for target in "$@"; do
        _fuzz_summary "$target" "$out/$target" "${rcs[$target]}" "${walls[$target]:-?}"
    done
    for target in "$@"; do
        [[ ${rcs[$target]} == 0 ]] && continue
        failed=$((failed + 1))
        artifact=$(find "$out/$target/artifacts" -type f | head -n 1)
        say ""
        say "FAILED: fuzz target $target (exit ${rcs[$target]}); crash artifact: ${artifact:-none written}"
        say "  reproduce: $out/$target/$target ${artifact:-<input>}"
        say "  what libFuzzer said (full log: $out/$target/fuzz.log):"
        # The panic message and its line, then libFuzzer's and the sanitizer's verdict.
        grep -aE -A1 "panicked at" "$out/$target/fuzz.log" | head -n 4 | sed 's/^/    /'
        grep -aE "ERROR: |SUMMARY: |ALARM: " "$out/$target/fuzz.log" | head -n 6 | sed 's/^/    /'
    done
    ((failed == 0))
}

fuzz_smoke() {
    local seconds=${WARROOM_FUZZ_SMOKE_SECONDS:-10} jobs=${WARROOM_FUZZ_JOBS:-2} targets
    command -v cargo >/dev/null || {
        say "cargo not found"
        return 1
    }
    fuzz_install || return 1
    fuzz_build || return 1
    mapfile -t targets < <(fuzz_targets)
    fuzz_campaign "$seconds" "$jobs" "${OUTPUT_DIR:-.test-output}/fuzz-smoke" "${targets[@]}"
}
