#!/usr/bin/env python3
"""Writes the committed seed corpora, fuzz/seeds/<target>/, from the reference payloads
(shared/reference/platforms/{slack,feishu,dingtalk,wecom}.md and dingtalk-wecom-notes.md: official
examples and test vectors) and the
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

# ---- DingTalk (dingtalk.md TEST VECTORS, dingtalk-wecom-notes.md Q6 and Q7) ---------------
# The harness app is vector D1's (its token, aes_key, and owner key as the AppKey) with the
# clock 3 s after D1's timeStamp (fuzz/src/lib.rs, DINGTALK_*), so D1 verifies on the raw path.
D1_SIG, D1_TS, D1_NONCE = "03044561471240d4a14bb09372dfcfd4fd0e40cb", "1608001896814", "WL4PK6yA"
D1_ENCRYPT = ("0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+HZ"
              "eKju4yhELOFchzNukR+t8SB/qk4ROMu3")
# D1's decrypted bytes, by the vector's own account: random16, length, message, owner key, pad 31.
D1_PLAIN = (b"l7Y3EcX2CU5w8av3" + (25).to_bytes(4, "big") + b'{"EventType":"check_url"}' + b"ding6ccabc44d2c8d38b"
            + bytes([31]) * 31)
D2_SIG, D2_TS, D2_NONCE = "5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0", "1445827045067", "nEXhMP4r"
D2_ENCRYPT = ("1a3NBxmCFwkCJvfoQ7WhJHB+iX3qHPsc9JbaDznE1i03peOk1LaOQoRz3+nlyGNhwmwJ3vDMG+OzrHMeiZI7gTRWVdUBmfxjZ8Ej23JV"
              "Ya9VrYeJ5as7XM/ZpulX8NEQis44w53h1qAgnC3PRzM7Zc/D6Ibr0rgUathB6zRHP8PYrfgnNOS9PhSBdHlegK+AGGanfwjXuQ9+0pZcy0w9lQ==")
D3_SIG, D3_TS, D3_NONCE = "f36f4ba5337d426c7d4bca0dbcb06b3ddc1388fc", "1605695694141", "WelUQl6bCqcBa2fM"
D3_ENCRYPT = "X1VSe9cTJUMZu60d3kyLYTrBq5578ZRJtteU94wG0Q4Uk6E/wQYeJRIC0/UFW5Wkya1Ihz9oXAdLlyC9TRaqsQ=="
D4_CIPHER = "DwCJ9BMxu4r+VTe9TD+AWc1yfxqs7d2YgepFe4XruMgh1+6pTjCCq4nqAM6StRcafOx5a1OfwmX3ckSBifatlA=="
D1_KEY, D2_KEY = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7", "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij"
STALE_MS = "1607990000000"  # 3.3 h before the harness clock: stale for every kind
b64decode = __import__("base64").b64decode


def dt_raw(query="", ts="", sign="", card_ts="", card_sign="", body=b""):
    return f"!{query}\n{ts}\n{sign}\n{card_ts}\n{card_sign}\n".encode() + body


def dt_event(kind, **fields):
    return j({"EventType": kind, **fields})


D1_QUERY = f"msg_signature={D1_SIG}&timeStamp={D1_TS}&nonce={D1_NONCE}"
D1_BODY = j({"encrypt": D1_ENCRYPT})
check_url = dt_event("check_url")
write("dingtalk_events", "raw-d1-official", dt_raw(D1_QUERY, body=D1_BODY))
write("dingtalk_events", "raw-d1-java-names", dt_raw(f"signature={D1_SIG}&timestamp={D1_TS}&nonce={D1_NONCE}", body=D1_BODY))
write("dingtalk_events", "raw-d1-tampered", dt_raw(D1_QUERY, body=j({"encrypt": D1_ENCRYPT[:-4] + "AAAA"})))
write("dingtalk_events", "raw-d2-other-app", dt_raw(f"msg_signature={D2_SIG}&timeStamp={D2_TS}&nonce={D2_NONCE}",
                                                    body=j({"encrypt": D2_ENCRYPT})))
write("dingtalk_events", "check-url", check_url)
write("dingtalk_events", "check-suite-url", dt_event("check_create_suite_url", Random="LPIdSnlF", TestSuiteKey="suite4xxxxxxxxxxxxxxx"))
write("dingtalk_events", "chat-disband", dt_event("chat_disband", ChatId="chat0123", OpenConversationId="cidAbC+x==",
                                                   TimeStamp="1608001899000", EventId="ev-1"))
write("dingtalk_events", "chat-add-member", dt_event("chat_add_member", ChatId="chat0123", UserId=["user1", "user2"],
                                                      TimeStamp="1608001899000"))
write("dingtalk_events", "chat-add-member-one", dt_event("chat_add_member", chatId="chat0123", UserId="user1", eventId="ev-2"))
write("dingtalk_events", "user-add-org", dt_event("user_add_org", UserId=["user1"], CorpId="dingfuzzcorp"))
write("dingtalk_events", "signed-at-d1", f"~{D1_TS}\n{D1_NONCE}\n".encode() + check_url)
write("dingtalk_events", "signed-at-seconds", b"~1608001899\nn\n" + check_url)
write("dingtalk_events", "signed-at-stale", f"~{STALE_MS}\nn\n".encode() + check_url)
write("dingtalk_events", "ciphertext-d1", b"#" + b64decode(D1_ENCRYPT))
write("dingtalk_events", "signed-body-d1", b"$" + D1_BODY)
write("dingtalk_events", "signed-body-d3-other-key", b"$" + j({"encrypt": D3_ENCRYPT}))

# Robot messages: the fields of the official page (notes Q7) and the Stream SDK's chatbot.py.
robot_text = {"conversationId": "cidAbC+x==", "atUsers": [{"dingtalkId": "$:LWCP_v1:$bot", "staffId": ""}],
              "chatbotCorpId": "dingfuzzcorp", "chatbotUserId": "$:LWCP_v1:$bot", "msgId": "msgA1", "senderNick": "Ann",
              "isAdmin": False, "senderStaffId": "user1", "sessionWebhookExpiredTime": 1608005500000,
              "createAt": 1608001899000, "senderCorpId": "dingfuzzcorp", "conversationType": "2",
              "senderId": "$:LWCP_v1:$ann", "conversationTitle": "inc-1", "isInAtList": True,
              "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=x", "text": {"content": " ack"},
              "robotCode": "dingfuzz", "msgtype": "text"}
robot_rich = {**robot_text, "msgtype": "richText", "msgId": "msgA2",
              "content": {"richText": [{"text": "snooze "}, {"type": "picture", "downloadCode": "x"}, {"text": "30m"}]}}
robot_rich.pop("text")
robot_direct = {k: v for k, v in robot_text.items() if k not in ("isInAtList", "senderStaffId")}
robot_direct.update(conversationType="1", text={"content": "resolve"}, msgId="msgA3")
robot_picture = {**robot_text, "msgtype": "picture", "content": {"downloadCode": "dl", "pictureDownloadCode": "p"}}
write("dingtalk_events", "raw-robot-reference-vector",
      dt_raw(ts="1577262236757", sign="hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=", body=j(robot_text)))
write("dingtalk_events", "robot-text", b"@" + j(robot_text))
write("dingtalk_events", "robot-rich-text", b"@" + j(robot_rich))
write("dingtalk_events", "robot-direct", b"@" + j(robot_direct))
write("dingtalk_events", "robot-picture", b"@" + j(robot_picture))
write("dingtalk_events", "robot-signed-at-seconds", b"~@1608001899\n" + j(robot_text))
write("dingtalk_events", "robot-signed-at-stale", f"~@{STALE_MS}\n".encode() + j(robot_text))
write("dingtalk_events", "robot-signed-at-not-a-number", b"~@soon\n" + j(robot_text))

# Card clicks (notes Q6): our button ids `<action>|<incident>`, or a custom template's params.
card_click = {"type": "actionCallback", "outTrackId": "wr_0123", "corpId": "dingfuzzcorp", "userId": "user1",
              "content": json.dumps({"cardPrivateData": {"actionIds": ["ack|inc_01"], "params": {}}})}
card_params = {**card_click, "openConversationId": "cidAbC+x==",
               "content": json.dumps({"cardPrivateData": {"actionIds": ["b1"],
                                                          "params": {"action": "snooze:30", "incident_id": "inc_01"}}})}
card_object = {**card_click, "content": {"cardPrivateData": {"actionIds": ["resolve|inc_02"]}}}
write("dingtalk_events", "raw-card-notes-vector",
      dt_raw(card_ts="1700000000000", card_sign="I85VWQbGCqbDkjEb7rsCEkTKI9QSL3wzLms54MiwXlg=", body=j(card_click)))
write("dingtalk_events", "card-action-id", b"^" + j(card_click))
write("dingtalk_events", "card-params", b"^" + j(card_params))
write("dingtalk_events", "card-object-content", b"^" + j(card_object))
write("dingtalk_events", "card-other-type", b"^" + j({**card_click, "type": "cardDataChanged"}))
write("dingtalk_events", "card-signed-at-seconds", b"~^1608001890\n" + j(card_click))
write("dingtalk_events", "card-signed-at-stale", b"~^1608001000000\n" + j(card_click))

write("dingtalk_decrypt", "d1-official", f"!{D1_SIG}\n{D1_TS}\n{D1_NONCE}\n{D1_ENCRYPT}")
write("dingtalk_decrypt", "d1-uppercase-signature", f"!{D1_SIG.upper()}\n{D1_TS}\n{D1_NONCE}\n{D1_ENCRYPT}")
write("dingtalk_decrypt", "d2-other-app", f"!{D2_SIG}\n{D2_TS}\n{D2_NONCE}\n{D2_ENCRYPT}")
write("dingtalk_decrypt", "d3-other-app", f"!{D3_SIG}\n{D3_TS}\n{D3_NONCE}\n{D3_ENCRYPT}")
write("dingtalk_decrypt", "not-base64", "!\n\n\nnot base64 at all!")
write("dingtalk_decrypt", "d1-ciphertext", b"#" + b64decode(D1_ENCRYPT))
write("dingtalk_decrypt", "d4-ciphertext", b"#" + b64decode(D4_CIPHER))
write("dingtalk_decrypt", "d1-plaintext-blocks", b"&" + D1_PLAIN)
# 16-byte padding (DingTalk's Go and Rust code) for the CorpId: 16 + 4 + 7 + 12 = 39 bytes, pad 9.
write("dingtalk_decrypt", "plaintext-blocks-pad16", b"&" + b"0123456789abcdef" + (7).to_bytes(4, "big") + b"success"
      + b"dingfuzzcorp" + bytes([9]) * 9)
write("dingtalk_decrypt", "key-d1", "%" + D1_KEY)
write("dingtalk_decrypt", "key-d2-spaced", "% " + D2_KEY + "\n")
write("dingtalk_decrypt", "key-too-short", "%" + D1_KEY[:42])
write("dingtalk_decrypt", "message-check-url", check_url)
write("dingtalk_decrypt", "message-success", "success")
write("dingtalk_decrypt", "message-not-utf8", b"\xff\xfe{}")

# ---- WeCom (wecom.md TEST VECTORS W1-W4, dingtalk-wecom-notes.md Q1 and Q2) ----------------
# W1/W2 are the harness app's keys (CorpID ww1436e0e65a779aee) and the harness clock is W2's
# timestamp + 3 s; W4's keys are the harness smart bot's, for another ReceiveId (wx5823bf96d3bd56c7).
W1_SIG, W1_TS, W1_NONCE = "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683"
W1_ECHO = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
W2_SIG, W2_TS, W2_NONCE = "0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914"
W2_ENCRYPT = ("Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0"
              "WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2"
              "pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+")
W2_BODY = (f"<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName><Encrypt><![CDATA[{W2_ENCRYPT}]]></Encrypt>"
           "<AgentID><![CDATA[1000002]]></AgentID></xml>")
W4_SIG, W4_TS, W4_NONCE = "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149"
W4_ENCRYPT = ("RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qh"
              "xchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4L"
              "UMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6"
              "bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==")


def wq(**pairs):
    return urllib.parse.urlencode(pairs)


def w_raw(method, query, body=""):
    return f"!{method}\n{query}\n{body}"


write("wecom_callbacks", "raw-w2-official", w_raw("POST", wq(msg_signature=W2_SIG, timestamp=W2_TS, nonce=W2_NONCE), W2_BODY))
write("wecom_callbacks", "raw-w2-tampered", w_raw("POST", wq(msg_signature=W2_SIG, timestamp=W2_TS, nonce=W2_NONCE),
                                                  W2_BODY.replace("Kl7k", "Kl7j")))
write("wecom_callbacks", "raw-w1-url-check", w_raw("GET", wq(msg_signature=W1_SIG, timestamp=W1_TS, nonce=W1_NONCE, echostr=W1_ECHO)))
write("wecom_callbacks", "raw-w1-echostr-unencoded",
      w_raw("GET", f"msg_signature={W1_SIG}&timestamp={W1_TS}&nonce={W1_NONCE}&echostr={W1_ECHO}"))
write("wecom_callbacks", "raw-url-check-no-echostr", w_raw("GET", wq(msg_signature=W1_SIG, timestamp=W1_TS, nonce=W1_NONCE)))
write("wecom_callbacks", "raw-w4-json", w_raw("POST", wq(msg_signature=W4_SIG, timestamp=W4_TS, nonce=W4_NONCE),
                                              json.dumps({"encrypt": W4_ENCRYPT})))
write("wecom_callbacks", "raw-put", w_raw("PUT", wq(msg_signature=W2_SIG, timestamp=W2_TS, nonce=W2_NONCE), W2_BODY))
card_event = ("<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName><FromUserName><![CDATA[ada]]></FromUserName>"
              "<CreateTime>1476422779</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
              "<EventKey><![CDATA[ack|inc_01]]></EventKey><TaskId><![CDATA[wr_task_01]]></TaskId>"
              "<CardType><![CDATA[button_interaction]]></CardType><ResponseCode><![CDATA[rc0123456789abcdef]]></ResponseCode>"
              "<AgentID>1000002</AgentID></xml>")
write("wecom_callbacks", "app-card-click", card_event)
write("wecom_callbacks", "app-card-menu", card_event.replace("template_card_event", "template_card_menu_event"))
write("wecom_callbacks", "app-card-unknown-key", card_event.replace("ack|inc_01", "frobnicate"))
write("wecom_callbacks", "app-text-message", ("<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName><FromUserName><![CDATA[ada]]>"
                                             "</FromUserName><CreateTime>1476422779</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                                             "<Content><![CDATA[hi]]></Content><MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"))
write("wecom_callbacks", "signed-at-stale", "~1476420000\n" + card_event)
write("wecom_callbacks", "signed-at-not-a-number", "~soon\n" + card_event)
bot_text = {"msgid": "CAIQ16HMjQYY", "aibotid": "AIBOTID", "chatid": "wrkSFfCgAAxxx", "chattype": "group",
            "from": {"userid": "ada"}, "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC",
            "msgtype": "text", "text": {"content": "@WarRoomBot ack"}}
write("wecom_callbacks", "bot-mention", b"@" + j(bot_text))
write("wecom_callbacks", "bot-single", b"@" + j({**bot_text, "chattype": "single"}))
write("wecom_callbacks", "bot-stream", b"@" + j({"msgid": "m2", "aibotid": "AIBOTID", "chattype": "group", "from": {"userid": "ada"},
                                                 "msgtype": "stream", "stream": {"id": "st01"}}))
write("wecom_callbacks", "bot-card-click", b"@" + j({"msgid": "m3", "aibotid": "AIBOTID", "chatid": "wrkSFfCgAAxxx", "chattype": "group",
                                                     "from": {"userid": "ada"}, "msgtype": "event",
                                                     "event": {"eventtype": "template_card_event",
                                                               "template_card_event": {"card_type": "button_interaction",
                                                                                       "event_key": "ack|inc_01", "task_id": "t1"}}}))
write("wecom_callbacks", "url-check-echo", "?1288432023552776189")
write("wecom_callbacks", "ciphertext-w2", b"#" + __import__("base64").b64decode(W2_ENCRYPT))
write("wecom_callbacks", "signed-body-w2", "$" + W2_BODY)
write("wecom_callbacks", "signed-body-json", "$" + json.dumps({"encrypt": W4_ENCRYPT}))

write("wecom_decrypt", "w1-official", f"!{W1_SIG}\n{W1_TS}\n{W1_NONCE}\n{W1_ECHO}")
write("wecom_decrypt", "w2-official", f"!{W2_SIG}\n{W2_TS}\n{W2_NONCE}\n{W2_ENCRYPT}")
write("wecom_decrypt", "w2-uppercase-signature", f"!{W2_SIG.upper()}\n{W2_TS}\n{W2_NONCE}\n{W2_ENCRYPT}")
write("wecom_decrypt", "w4-other-keys", f"!{W4_SIG}\n{W4_TS}\n{W4_NONCE}\n{W4_ENCRYPT}")
write("wecom_decrypt", "not-base64", "!\n\n\nnot base64 at all!")
write("wecom_decrypt", "w2-ciphertext", b"#" + __import__("base64").b64decode(W2_ENCRYPT))
# A plaintext block by block: 16 + 4 + 4 + 18 (the CorpID) = 42 bytes, pad 22 to 64; and pad 6 to 48 (16-byte style).
W_PLAIN = b"8908d0ff052afda0" + (4).to_bytes(4, "big") + b"echo" + b"ww1436e0e65a779aee"
write("wecom_decrypt", "plaintext-blocks-pad32", b"&" + W_PLAIN + bytes([22]) * 22)
write("wecom_decrypt", "plaintext-blocks-pad16", b"&" + W_PLAIN + bytes([6]) * 6)
write("wecom_decrypt", "plaintext-blocks-bot", b"&" + b"8908d0ff052afda0" + (4).to_bytes(4, "big") + b"echo" + bytes([8]) * 8)
write("wecom_decrypt", "key-w1", "%6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt")
write("wecom_decrypt", "key-w4-spaced", "% jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C\n")
write("wecom_decrypt", "key-too-short", "%6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhU")
write("wecom_decrypt", "message-card-event", card_event)
write("wecom_decrypt", "message-bot-json", j(bot_text))
write("wecom_decrypt", "message-not-utf8", b"\xff\xfe<xml/>")

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
