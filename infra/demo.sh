#!/usr/bin/env bash
# The demo flow, against a running local stack (`warroom-local`, demo mode):
#   1. fires a critical incident through /hooks/generic (responders Ada and Bob);
#   2. waits for its war room to open in the Slack sandbox;
#   3. Ada clicks "Acknowledge" on the status card, through the sandbox: it sends Slack's
#      signed block_actions callback to the bundle, exactly as Slack would;
#   4. Bob clicks "Resolve" the same way;
#   5. dismisses the war room through DELETE /api/v1/incidents/{id}/war-room;
#   6. prints the incident's timeline.
# Every step is waited for (bounded); the first one that does not happen ends the script
# with a non-zero exit and a line saying which.
#
# Environment:
#   WARROOM_URL           the stack (default http://127.0.0.1:3000)
#   WARROOM_DATA_DIR      its data directory, where demo-keys.json is (default .warroom-local)
#   WARROOM_DEMO_TIMEOUT  seconds each step may take (default 30)
# Needs curl and python3 (to read JSON).
set -euo pipefail

URL=${WARROOM_URL:-http://127.0.0.1:3000}
URL=${URL%/}
DATA_DIR=${WARROOM_DATA_DIR:-.warroom-local}
KEYS_FILE=$DATA_DIR/demo-keys.json
TIMEOUT=${WARROOM_DEMO_TIMEOUT:-30}

fail() {
    echo "demo: FAILED: $*" >&2
    exit 1
}
step() { echo "==> $*"; }

command -v curl >/dev/null || fail "curl is needed"
command -v python3 >/dev/null || fail "python3 is needed (to read JSON)"
[[ -r $KEYS_FILE ]] || fail "cannot read $KEYS_FILE: start the stack first (cargo run --bin warroom-local), or set WARROOM_DATA_DIR to its --data-dir"

# jget PATH: prints the field at a dotted PATH (list indexes as numbers) of the JSON on stdin;
# empty when absent.
jget() {
    python3 -c '
import json, sys
try:
    v = json.load(sys.stdin)
except ValueError:
    v = None
for k in sys.argv[1].split("."):
    if isinstance(v, list):
        v = v[int(k)] if k.isdigit() and int(k) < len(v) else None
    elif isinstance(v, dict):
        v = v.get(k)
    else:
        v = None
print("" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else v))
' "$1"
}

ADMIN_KEY=$(jget admin_key <"$KEYS_FILE")
INTAKE_KEY=$(jget intake_key <"$KEYS_FILE")
[[ -n $ADMIN_KEY && -n $INTAKE_KEY ]] || fail "$KEYS_FILE has no admin_key / intake_key"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# call METHOD PATH KEY [JSON]: sets STATUS and BODY.
call() {
    local method=$1 path=$2 key=$3 body=${4:-}
    local args=(-sS -X "$method" -o "$TMP/body" -w '%{http_code}' --max-time 10)
    [[ -n $key ]] && args+=(-H "Authorization: Bearer $key")
    [[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data "$body")
    STATUS=$(curl "${args[@]}" "$URL$path" 2>"$TMP/curl-error") ||
        fail "cannot reach $URL ($method $path: $(tr -d '\n' <"$TMP/curl-error")); is warroom-local running?"
    BODY=$(cat "$TMP/body")
}

# wait_for WHAT PATH FIELD VALUE: polls GET PATH (admin key) until FIELD is VALUE.
wait_for() {
    local what=$1 path=$2 field=$3 want=$4 got="" deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        call GET "$path" "$ADMIN_KEY"
        [[ $STATUS == 200 ]] || fail "GET $path answered $STATUS: $BODY"
        got=$(jget "$field" <<<"$BODY")
        [[ $got == "$want" ]] && return 0
        sleep 0.3
    done
    local why
    why=$(jget last_error <<<"$BODY")
    fail "$what did not happen within ${TIMEOUT}s ($field is \"$got\", not \"$want\"${why:+; last error: $why})"
}

# click USER ACTION: a person clicks a button of the incident's card in the Slack sandbox.
click() {
    local user=$1 action=$2 deadline=$((SECONDS + TIMEOUT))
    local body="{\"incident_id\":\"$INCIDENT\",\"user\":\"$user\",\"action\":\"$action\"}"
    while true; do
        call POST /sandbox/control/slack/click "" "$body"
        [[ $STATUS == 200 ]] && return 0
        # 409: the card (or that button on it) is not there yet.
        [[ $STATUS == 409 ]] && ((SECONDS < deadline)) && { sleep 0.3; continue; }
        [[ $STATUS == 404 && $(jget error.code <<<"$BODY") == no_such_route ]] && fail "$URL has no sandbox: start warroom-local without --no-sandbox"
        fail "$user could not click \"$action\" on the card (HTTP $STATUS): $BODY"
    done
}

EXTERNAL_ID="DEMO-$(date +%s)-$$"
step "Firing incident $EXTERNAL_ID through $URL/hooks/generic (critical; responders Ada and Bob)"
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EVENT=$(
    cat <<JSON
{"id": "$EXTERNAL_ID", "title": "Checkout errors above 5%", "description": "5xx rate 7.2% over 10 minutes (demo)",
 "severity": "critical", "status": "triggered", "time": "$NOW",
 "responders": [{"name": "Ada", "email": "ada@example.com"}, {"name": "Bob", "email": "bob@example.com"}],
 "labels": {"service": "checkout"}}
JSON
)
call POST /hooks/generic "$INTAKE_KEY" "$EVENT"
[[ $STATUS == 202 ]] || fail "the intake answered $STATUS: $BODY"
INCIDENT=$(jget results.0.incident_id <<<"$BODY")
[[ -n $INCIDENT ]] || fail "the intake answered no incident id: $BODY"
echo "    incident $INCIDENT"

step "Waiting for the war room"
wait_for "the war room opening" "/api/v1/incidents/$INCIDENT/war-room" state open
echo "    Slack sandbox channel $(jget chat_id <<<"$BODY"), invited $(jget invited <<<"$BODY")"

step "Ada acknowledges from the card (the sandbox sends Slack's signed callback)"
click U_ADA ack
wait_for "the acknowledgement" "/api/v1/incidents/$INCIDENT" status acknowledged
echo "    status acknowledged"

step "Bob resolves from the card"
click U_BOB resolve
wait_for "the resolution" "/api/v1/incidents/$INCIDENT" status resolved
echo "    status resolved"

step "Dismissing the war room through the API"
call DELETE "/api/v1/incidents/$INCIDENT/war-room" "$ADMIN_KEY"
[[ $STATUS == 202 ]] || fail "DELETE /api/v1/incidents/$INCIDENT/war-room answered $STATUS: $BODY"
wait_for "the dismissal" "/api/v1/incidents/$INCIDENT/war-room" state dismissed
echo "    war room dismissed"

step "Timeline of $INCIDENT"
call GET "/api/v1/incidents/$INCIDENT/timeline" "$ADMIN_KEY"
[[ $STATUS == 200 ]] || fail "GET /api/v1/incidents/$INCIDENT/timeline answered $STATUS: $BODY"
python3 -c '
import json, sys
entries = json.load(sys.stdin)["entries"]
def who(a):
    return a.get("name") or a.get("label") or a.get("id") or a.get("kind", "?")
for e in entries:
    print("    %s  %-20s %-8s %s" % (e["at"][11:19], e["action"], who(e["actor"]), e["detail"]))
actions = [e["action"] for e in entries]
missing = [a for a in ("war_room_created", "status_changed", "war_room_dismissed") if a not in actions]
if missing:
    sys.exit("demo: FAILED: the timeline lacks " + ", ".join(missing))
' <<<"$BODY"

echo "demo: OK: $INCIDENT opened a war room, was acknowledged and resolved from its card, and the room was dismissed"
