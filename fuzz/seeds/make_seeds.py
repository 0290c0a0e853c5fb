#!/usr/bin/env python3
"""Writes the committed seed corpora, fuzz/seeds/<target>/, from the reference payloads
(shared/reference/platforms/{slack,feishu}.md: official examples and test vectors) and the
project's own fixtures (shared/intake/tests/fixtures). Re-run after changing it:
    python3 fuzz/seeds/make_seeds.py
Input formats are described in fuzz/src/lib.rs and in each target's doc comment."""
import json
import pathlib
import shutil
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEEDS = ROOT / "fuzz" / "seeds"
FIXTURES = ROOT / "shared" / "intake" / "tests" / "fixtures"


def j(v):
    return json.dumps(v, separators=(",", ":")).encode()


def write(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


# ---- Slack (slack.md §2 and TEST VECTORS) -------------------------------------------------
S1_TS = "1531420618"
S1_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
S1_BODY = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
           "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
           "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
           "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
URL_VERIFICATION = ('{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": '
                    '"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}')


def slack_callback(event):
    # Envelope fields per slack.md / events.rs docs; authorizations name the bot.
    return j({"token": "XXYYZZ", "team_id": "T123ABC456", "api_app_id": "A123ABC456", "event": event,
              "type": "event_callback", "event_id": "Ev123ABC456", "event_time": 1515449522,
              "authorizations": [{"enterprise_id": None, "team_id": "T123ABC456", "user_id": "U0BOT", "is_bot": True}]})


for t in ("slack_events", "slack_interactions"):
    # The official signed request (vector S1), verified on the raw path at the harness clock.
    write(t, "raw-s1-official", f"!{S1_TS}\n{S1_SIG}\n{S1_BODY}")
    write(t, "raw-s1-tampered", f"!{S1_TS}\n{S1_SIG}\n{S1_BODY}------")
    write(t, "raw-s2-other-secret", "!1531420618\nv0=baa91ef62d346e56607bbdd278a8acd570b91226854f15a382f43d33be42f666\ntest-body")
    write(t, "ssl-check", "ssl_check=1&token=xyzz0WbapA4vBCDEFasx0q6G")
    # Signed by the harness at the official vector's own timestamp, and at a stale one.
    write(t, "signed-at-s1", f"~{S1_TS}\n{S1_BODY}")
    write(t, "signed-at-stale", f"~1531420000\n{S1_BODY}")

write("slack_events", "url-verification", URL_VERIFICATION)
write("slack_events", "app-mention", slack_callback(
    {"type": "app_mention", "user": "U061F7AUR", "text": "<@U0BOT> ack please", "ts": "1515449522.000016",
     "channel": "C123ABC456", "event_ts": "1515449522000016"}))
write("slack_events", "app-mention-labelled", slack_callback(
    {"type": "app_mention", "user": "U061F7AUR", "text": "<@U0BOT|warroom> snooze 30", "ts": "1.5", "channel": "C1"}))
write("slack_events", "message", slack_callback(
    {"type": "message", "channel": "C1", "user": "U1", "text": " hello ", "ts": "1663966382.046509",
     "channel_type": "channel", "client_msg_id": "x"}))
write("slack_events", "message-subtype", slack_callback(
    {"type": "message", "subtype": "channel_join", "channel": "C1", "user": "U1", "text": "<@U1> has joined", "ts": "1.0"}))
write("slack_events", "message-im", slack_callback(
    {"type": "message", "channel": "D1", "user": "U1", "text": "dm", "ts": "1.0", "channel_type": "im"}))
write("slack_events", "member-joined", slack_callback(
    {"type": "member_joined_channel", "user": "W123ABC456", "channel": "C123ABC456", "channel_type": "C",
     "team": "T123ABC456", "inviter": "U123456789"}))
write("slack_events", "channel-archive", slack_callback({"type": "channel_archive", "channel": "C9", "user": "U1"}))
write("slack_events", "group-deleted", slack_callback({"type": "group_deleted", "channel": "G9"}))
write("slack_events", "app-uninstalled", slack_callback({"type": "app_uninstalled"}))
write("slack_events", "tokens-revoked", slack_callback({"type": "tokens_revoked", "tokens": {"oauth": ["U1"], "bot": ["U0BOT"]}}))
# Found by fuzzing: an app_mention `ts` whose seconds overflow i64 milliseconds (slack/util.rs
# parse_ts panicked in debug builds). Kept verbatim as a regression input.
write("slack_events", "regression-ts-overflow", '{"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A123ABC456","event":{"type":"app_mention","user":"U061F7AUR","text":"<@U0BOX5555555555> ack please","ts":"1515449522.000016","channel":"C123ABC456","event_ts":"151555> ack please","ts":"15154449522000016"},"type":"event_callback","event_id":"Ev123BC456","event_time":1515449522,"authorizations":[{"enterprise_id":null,"team_id":"T123ABC456","user_i:d":"U0BOT","is_bot":true}]}')
write("slack_events", "app-rate-limited",
      '{"token":"t","type":"app_rate_limited","team_id":"T1","minute_rate_limited":1518467820,"api_app_id":"A1"}')


def block_actions(value, action_id="warroom.ack"):
    # block_actions fields per codec.rs (docs.slack.dev block_actions-payload).
    return {"type": "block_actions", "user": {"id": "U123", "username": "ann", "team_id": "T123"},
            "api_app_id": "A123", "token": "x", "container": {"type": "message", "message_ts": "1.2",
                                                               "channel_id": "C123", "is_ephemeral": False},
            "trigger_id": "123.456.abc", "team": {"id": "T123", "domain": "example"},
            "channel": {"id": "C123", "name": "inc-1"}, "response_url": "https://hooks.slack.com/actions/T1/1/x",
            "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": value, "action_ts": "1.3"}]}


write("slack_interactions", "block-actions-ack", j(block_actions("inc_01|ack")))
write("slack_interactions", "block-actions-snooze", j(block_actions("inc_01|snooze:30", "warroom.snooze")))
write("slack_interactions", "block-actions-resolve-no-channel",
      j({k: v for k, v in block_actions("inc_01|resolve", "warroom.resolve").items() if k not in ("channel", "team")}))
write("slack_interactions", "block-actions-form",
      "payload=" + urllib.parse.quote(json.dumps(block_actions("inc_01|ack")), safe=""))
write("slack_interactions", "view-submission", j({"type": "view_submission", "user": {"id": "U1"}}))

# ---- Feishu (feishu.md §2 and TEST VECTORS) -----------------------------------------------
F1 = "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="
F1_BODY = '{"encrypt":"' + F1 + '"}'
F3_SIG = "318b8c18e2016e75de652d8f93232311a0ccedb7c4f7f4d3724128c900a7fda8"
TOKEN = "vtok"
HEADER = {"event_id": "5e3702a84e847582be8db7fb73283c02", "create_time": "1608725989000", "token": TOKEN,
          "app_id": "cli_fuzz", "tenant_key": "2ca1d211f64f6438"}


def v2(event_type, event):
    return j({"schema": "2.0", "header": {**HEADER, "event_type": event_type}, "event": event})


message = {"sender": {"sender_id": {"open_id": "ou_alice", "user_id": "e33ggbyz", "union_id": "on_1"},
                      "sender_type": "user", "tenant_key": "t"},
           "message": {"message_id": "om_1", "create_time": "1609073151345", "chat_id": "oc_room", "chat_type": "group",
                       "message_type": "text", "content": json.dumps({"text": "@_user_1 ack @_user_2"}),
                       "mentions": [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "Warroom"},
                                    {"key": "@_user_2", "id": {"open_id": "ou_bob"}, "name": "Bob"}]}}
post_message = json.loads(json.dumps(message))
post_message["message"].update(message_type="post", chat_type="p2p", content=json.dumps(
    {"title": "t", "content": [[{"tag": "text", "text": "resolve "}, {"tag": "at", "user_id": "@_user_1"}]]}))
card_value = {"incident_id": "inc_01", "action": "ack"}
card = {"operator": {"tenant_key": "t", "user_id": "u", "open_id": "ou_alice", "union_id": "on_1"}, "token": "c-1",
        "action": {"value": card_value, "tag": "button"}, "host": "im_message",
        "context": {"open_message_id": "om_1", "open_chat_id": "oc_room"}}
card_string_value = json.loads(json.dumps(card))
card_string_value["action"]["value"] = json.dumps({"incident_id": "inc_01", "action": "snooze:60"})
card_string_value.pop("context")
card_string_value["open_chat_id"] = "oc_room"
handshake = j({"challenge": "1b6aef1a-401f-406a-be41-f48911e00be7", "type": "url_verification", "token": TOKEN})

for t in ("feishu_events", "feishu_cards"):
    write(t, "url-verification", handshake)
    write(t, "raw-f1-f3-signed", f"!1633336000\nnonce123\n{F3_SIG}\n{F1_BODY}")
    write(t, "raw-f1-unsigned", f"!\n\n\n{F1_BODY}")
    write(t, "signed-body-f1", "$" + F1_BODY)
    write(t, "signed-at-f3", "~1633336000\nnonce123\n" + handshake.decode())
    write(t, "signed-at-stale", "~1633335000\nn\n" + handshake.decode())
    write(t, "ciphertext-f1", b"#" + __import__("base64").b64decode(F1))
write("feishu_events", "message-receive", v2("im.message.receive_v1", message))
write("feishu_events", "message-post-p2p", v2("im.message.receive_v1", post_message))
write("feishu_events", "chat-disbanded", v2("im.chat.disbanded_v1", {"chat_id": "oc_room", "operator_id": {"open_id": "ou_1"},
                                                                      "external": False, "name": "inc"}))
write("feishu_events", "reaction-created", v2("im.message.reaction.created_v1", {"message_id": "om_1",
                                                                                  "reaction_type": {"emoji_type": "SMILE"}}))
write("feishu_events", "v1-app-status-change", j({"uuid": "u1", "ts": "1", "token": TOKEN, "type": "event_callback",
                                                   "event": {"type": "app_status_change", "status": "stop_by_tenant"}}))
write("feishu_events", "v1-app-uninstalled", j({"uuid": "u2", "token": TOKEN, "type": "event_callback",
                                                 "event": {"type": "app_uninstalled"}}))
write("feishu_cards", "card-action-trigger", v2("card.action.trigger", card))
write("feishu_cards", "card-action-string-value", v2("card.action.trigger", card_string_value))
write("feishu_cards", "legacy-card-v1", j({"open_id": "ou_x", "action": {"tag": "button", "value": {"k": "v"}}}))

write("feishu_decrypt", "f1-official", "!" + F1)
write("feishu_decrypt", "f1-ciphertext", b"#" + __import__("base64").b64decode(F1))
write("feishu_decrypt", "f1-plaintext", "hello world")
write("feishu_decrypt", "event-plaintext", v2("im.chat.disbanded_v1", {"chat_id": "oc_room"}))
write("feishu_decrypt", "not-base64", "!not base64 at all!")

# ---- Intake (the project's fixtures) ------------------------------------------------------
for f in sorted(FIXTURES.glob("*.json")):
    src = f.name.split("_")[0]
    target = {"generic": "intake_generic", "alertmanager": "intake_alertmanager", "pagerduty": "intake_pagerduty"}[src]
    write(target, f.stem, f.read_bytes())
write("intake_pagerduty", "raw-unsigned", b"!v1=00\n" + (FIXTURES / "pagerduty_incident_resolved.json").read_bytes())
write("intake_generic", "minimal", j({"id": "x", "title": "t", "status": "resolved", "time": "2025-11-21T09:00:00+01:00",
                                      "severity": "P1", "responders": []}))

# ---- Status sync --------------------------------------------------------------------------
write("status_sync_verify", "fresh", '1763715600\n1763715650\nv2=abc, v1=zz\n{"incident_id":"inc_01","status":"resolved"}')
write("status_sync_verify", "stale", "1763715600\n1763716000\nv1=00ff\n{}")
write("sync_settings", "all-sections", j({
    "generic": {"callback_url": "https://example.com/cb", "signing_secret": "c2VhbGVk"},
    "alertmanager": {"api_url": "http://alertmanager:9093"},
    "pagerduty": {"api_token": "c2VhbGVk", "from_email": "ann@example.com", "webhook_secret": "x"}}))
write("sync_settings", "webhook-secret-only", j({"pagerduty": {"webhook_secret": "x"}, "generic": {"callback_url": None}}))
