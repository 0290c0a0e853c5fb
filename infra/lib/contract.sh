# shellcheck shell=bash
# The management API keeps its contract: schemathesis (pinned in infra/requirements-test.txt)
# runs docs/openapi.json against a real warroom-local, every phase (coverage, fuzzing and the
# stateful phase that follows the document's links), all checks, twice: a fixed seed (the
# same cases every run) and a random one (printed, to reproduce a failure with
# WARROOM_CONTRACT_SEED). What the document cannot say is in infra/schemathesis/schemathesis.toml.
# Source after infra/lib/common.sh and infra/lib/stack.sh; it defines functions only.
#
#   contract_test PYTHON_BIN_DIR   starts the stack, fires two incidents through
#                                  /hooks/generic (so the incident operations have ids to
#                                  follow), runs schemathesis, stops the stack. Reports:
#                                  $OUTPUT_DIR/schemathesis/. Fails on any failure.
#
# Environment: WARROOM_CONTRACT_EXAMPLES (cases per operation and phase, default 30),
# WARROOM_CONTRACT_SEED (the second run's seed, default random).

CONTRACT_FIXED_SEED=20261204

# use_after_free (a read after a successful DELETE must answer 404) is left out:
# `DELETE /api/v1/incidents/{id}/war-room` asks for a dismissal (202) and the war room stays
# readable with its state afterwards, by design (the incident's record of its room), and
# schemathesis 4.32 applies this stateful check whatever an operation's own settings say.
# The deletes that do remove things (integrations, members, keys, links) are checked for
# their 404 afterwards by functions/api/tests.

_contract_fire() { # URL INTAKE_KEY ID TITLE
    curl -fsS -o /dev/null -X POST "$1/hooks/generic" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
        -d '{"id":"'"$3"'","title":"'"$4"'","severity":"critical","status":"triggered","time":"'"$(date -u +%FT%TZ)"'","responders":[{"name":"Ada","email":"ada@example.com"}]}'
}

_contract_run() { # BIN URL ADMIN_KEY SEED REPORT_DIR
    local bin=$1 url=$2 key=$3 seed=$4 reports=$5
    say "\$ schemathesis run docs/openapi.json --url $url --checks all --seed $seed --max-examples ${WARROOM_CONTRACT_EXAMPLES:-30} (phases: all)"
    "$bin/schemathesis" --config-file "$REPO_ROOT/infra/schemathesis/schemathesis.toml" --no-color run "$REPO_ROOT/docs/openapi.json" \
        --url "$url" -H "Authorization: Bearer $key" --checks all --exclude-checks use_after_free --seed "$seed" \
        --max-examples "${WARROOM_CONTRACT_EXAMPLES:-30}" --phases examples,coverage,fuzzing,stateful \
        --report junit --report-dir "$reports/seed-$seed"
}

# One run on a fresh stack: the runs delete what they find (integrations, members), so
# each starts from the demo tenant with its two integrations and two fresh incidents.
_contract_fresh_run() { # BIN SEED
    local bin=$1 seed=$2 out=${OUTPUT_DIR:-.test-output} keys admin intake rc=0
    start_local_stack contract "$bin/python" || return 1
    keys=$LOCAL_STACK_DATA/demo-keys.json
    admin=$("$bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_key"])' "$keys") || rc=1
    intake=$("$bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["intake_key"])' "$keys") || rc=1
    if ((rc == 0)); then
        _contract_fire "$LOCAL_STACK_URL" "$intake" "CONTRACT-$seed-1" "Checkout errors" || rc=1
        _contract_fire "$LOCAL_STACK_URL" "$intake" "CONTRACT-$seed-2" "Queue backlog" || rc=1
    fi
    # schemathesis keeps a cache in its working directory: the output directory, not the tree.
    mkdir -p "$out/schemathesis"
    if ((rc == 0)); then
        (cd "$out/schemathesis" && _contract_run "$bin" "$LOCAL_STACK_URL" "$admin" "$seed" reports) || rc=1
    fi
    stop_local_stack
    ((rc == 0)) || say "the API and docs/openapi.json disagree (above); the log of the stack is $LOCAL_STACK_LOG"
    return "$rc"
}

contract_test() { # PYTHON_BIN_DIR
    local bin seed rc=0
    bin=$(cd "$1" && pwd) || return 1
    seed=${WARROOM_CONTRACT_SEED:-$(("$RANDOM" * 32768 + "$RANDOM"))}
    _contract_fresh_run "$bin" "$CONTRACT_FIXED_SEED" || rc=1
    say "second run with a random seed: reproduce it with WARROOM_CONTRACT_SEED=$seed ./infra/test.sh"
    _contract_fresh_run "$bin" "$seed" || rc=1
    return "$rc"
}
