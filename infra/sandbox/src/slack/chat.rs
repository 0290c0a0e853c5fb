//! auth.test, chat.*, reactions.add, users.lookupByEmail, users.info. Error codes from
//! slack-api-ref `docs.slack.dev/methods/<method>.json` (`errors`), shapes from `examples`.

use serde_json::{json, Value};

use super::api::{err, missing_field, ApiError, Args, Caller, Reply, Spec};
use super::conversations::{is_member, visible};
use super::state::{ts_key, Message, State};
use super::EphemeralView;

/// auth.test with a bot token, as the docs' `success_with_bot_token` example:
/// `{"ok":true,"url":"https://subarachnoid.slack.com/","team":"…","user":"bot","team_id":"T0G9PQBBK","user_id":"W23456789","bot_id":"BZYBOTHED"}`.
pub(crate) fn auth_test(st: &mut State, caller: &Caller, _spec: &Spec, _args: &Args) -> Reply {
    let ws = st.workspace(&caller.team_id).ok_or_else(|| err("invalid_auth"))?;
    let user = st.users.get(&ws.bot_user_id).map(|u| u.name.clone()).unwrap_or_default();
    Ok(json!({"url": format!("https://{}.slack.com/", ws.domain), "team": ws.name, "user": user, "team_id": ws.id,
        "user_id": ws.bot_user_id, "bot_id": ws.bot_id, "is_enterprise_install": false}))
}

/// The message content arguments. chat.postMessage: "one of attachments/blocks/text/
/// markdown_text is required; text and markdown_text are mutually exclusive" (reference §3);
/// `no_text`, `markdown_text_conflict`, `invalid_blocks_format` (not a JSON array),
/// `invalid_blocks` (a block without a `type`, or more than 50 blocks).
struct Content {
    text: Option<String>,
    blocks: Option<Vec<Value>>,
    attachments: bool,
}

fn content(args: &Args) -> Result<Content, ApiError> {
    let text = args.str("text");
    let markdown = args.str("markdown_text");
    if text.is_some() && markdown.is_some() {
        return Err(err("markdown_text_conflict"));
    }
    let blocks = match args.json("blocks").map_err(|_| err("invalid_blocks_format"))? {
        None => None,
        Some(Value::Array(items)) => {
            let typed = |b: &Value| b.get("type").and_then(Value::as_str).is_some_and(|t| !t.is_empty());
            if items.len() > 50 || !items.iter().all(typed) {
                return Err(err("invalid_blocks"));
            }
            Some(items)
        }
        Some(_) => return Err(err("invalid_blocks_format")),
    };
    let attachments = args.json("attachments").ok().flatten().is_some_and(|a| a.as_array().is_some_and(|a| !a.is_empty()));
    Ok(Content { text: text.or(markdown), blocks, attachments })
}

impl Content {
    fn is_empty(&self) -> bool {
        self.text.is_none() && self.blocks.as_ref().is_none_or(Vec::is_empty) && !self.attachments
    }
}

/// Checks shared by the posting methods: a visible channel, the scope, not archived, and the
/// bot in the channel (or holding `chat:write.public` for a public one).
pub(crate) fn postable(st: &State, caller: &Caller, spec: &Spec, args: &Args) -> Result<String, ApiError> {
    let id = visible(st, caller, args.str("channel"), true)?;
    let c = &st.channels[&id];
    caller.require_kind(spec, c.is_private)?;
    if c.is_archived {
        return Err(err("is_archived"));
    }
    if !is_member(c, &caller.bot_user_id) && (c.is_private || !caller.has_any(&["chat:write.public"])) {
        return Err(err("not_in_channel"));
    }
    Ok(id)
}

/// Answers `{"ok":true,"channel":"C…","ts":"…","message":{…}}` like the docs example.
pub(crate) fn post_message(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    let id = postable(st, caller, spec, args)?;
    let content = content(args)?;
    if content.is_empty() {
        return Err(err("no_text"));
    }
    let ts = st.next_ts();
    let msg = Message {
        ts: ts.clone(),
        user: Some(caller.bot_user_id.clone()),
        bot_id: Some(caller.bot_id.clone()),
        text: content.text.unwrap_or_default(),
        blocks: content.blocks.filter(|b| !b.is_empty()).map(Value::Array),
        edited: None,
        thread_ts: args.str("thread_ts"),
        reactions: Vec::new(),
        streaming: false,
    };
    let message = st.message_json(&caller.team_id, &msg);
    st.channels.get_mut(&id).expect("visible").messages.push(msg);
    Ok(json!({"channel": id, "ts": ts, "message": message}))
}

/// chat.update: `message_not_found`, `cant_update_message` (not the bot's message),
/// `is_inactive` ("cannot be edited within a frozen, archived or deleted channel"), `no_text`.
/// Omitted `blocks` keep the old blocks, an empty array removes them (chat.update docs).
pub(crate) fn update(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    let id = visible(st, caller, args.str("channel"), false)?;
    let c = &st.channels[&id];
    caller.require_kind(spec, c.is_private)?;
    if c.is_archived {
        return Err(err("is_inactive"));
    }
    let ts = args.str("ts").ok_or_else(|| err("message_not_found"))?;
    let idx = c.messages.iter().position(|m| m.ts == ts).ok_or_else(|| err("message_not_found"))?;
    if c.messages[idx].user.as_deref() != Some(caller.bot_user_id.as_str()) {
        return Err(err("cant_update_message"));
    }
    // "The message is currently streaming text and cannot be edited." (chat.update.json)
    if c.messages[idx].streaming {
        return Err(err("streaming_state_conflict"));
    }
    let content = content(args)?;
    if content.text.is_none() && content.blocks.is_none() && !content.attachments {
        return Err(err("no_text"));
    }
    let edited_ts = st.next_ts();
    let team = caller.team_id.clone();
    let m = &mut st.channels.get_mut(&id).expect("visible").messages[idx];
    if let Some(text) = content.text {
        m.text = text;
    }
    if let Some(blocks) = content.blocks {
        m.blocks = (!blocks.is_empty()).then_some(Value::Array(blocks));
    }
    m.edited = Some((caller.bot_user_id.clone(), edited_ts));
    let m = m.clone();
    let mut message = st.message_json(&team, &m);
    message.as_object_mut().expect("object").remove("ts");
    Ok(json!({"channel": id, "ts": ts, "text": m.text, "message": message}))
}

/// chat.postEphemeral: `{"ok":true,"message_ts":"…"}`; `user_not_in_channel` when the
/// recipient is not a member. Stored for inspection (`ephemeral_messages()`), never in history.
pub(crate) fn post_ephemeral(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    let id = postable(st, caller, spec, args)?;
    let user = args.str("user").ok_or_else(|| missing_field("user"))?;
    if !is_member(&st.channels[&id], &user) {
        return Err(err("user_not_in_channel"));
    }
    let content = content(args)?;
    if content.is_empty() {
        return Err(err("no_text"));
    }
    let ts = st.next_ts();
    let view = EphemeralView {
        channel: id,
        user,
        ts: ts.clone(),
        text: content.text.unwrap_or_default(),
        blocks: content.blocks.filter(|b| !b.is_empty()).map(Value::Array),
    };
    st.ephemerals.push(view);
    Ok(json!({"message_ts": ts}))
}

/// reactions.add: `no_item_specified`, `invalid_name`, `bad_timestamp`, `channel_not_found`,
/// `is_archived`, `message_not_found`, `already_reacted`; answers `{"ok":true}`.
/// UNCERTAIN: names are taken without colons ("thumbsup"); `:thumbsup:` is refused as
/// `invalid_name`, the docs only show the bare form.
pub(crate) fn reactions_add(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    let (Some(channel), Some(ts)) = (args.str("channel"), args.str("timestamp")) else {
        return Err(err("no_item_specified"));
    };
    let name = args.str("name").unwrap_or_default();
    let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_+-':".contains(c);
    if name.is_empty() || name.starts_with(':') || name.ends_with(':') || !name.chars().all(valid) {
        return Err(err("invalid_name"));
    }
    if ts_key(&ts).is_none() {
        return Err(err("bad_timestamp"));
    }
    let id = visible(st, caller, Some(channel), false)?;
    let c = &st.channels[&id];
    caller.require_kind(spec, c.is_private)?;
    if c.is_archived {
        return Err(err("is_archived"));
    }
    let bot = caller.bot_user_id.clone();
    let m = st.channels.get_mut(&id).expect("visible").messages.iter_mut().find(|m| m.ts == ts).ok_or_else(|| err("message_not_found"))?;
    match m.reactions.iter_mut().find(|(n, _)| *n == name) {
        Some((_, users)) if users.contains(&bot) => return Err(err("already_reacted")),
        Some((_, users)) => users.push(bot),
        None => m.reactions.push((name, vec![bot])),
    }
    Ok(json!({}))
}

/// users.lookupByEmail: `{"ok":false,"error":"users_not_found"}` when nobody in the workspace
/// has that address (compared case-insensitively).
pub(crate) fn lookup_by_email(st: &mut State, caller: &Caller, _spec: &Spec, args: &Args) -> Reply {
    let email = args.str("email").ok_or_else(|| missing_field("email"))?;
    let found = st.users.values().find(|u| u.team_id == caller.team_id && u.email.as_ref().is_some_and(|e| e.eq_ignore_ascii_case(email.trim())));
    let u = found.ok_or_else(|| err("users_not_found"))?;
    Ok(json!({"user": st.user_json(u)}))
}

pub(crate) fn users_info(st: &mut State, caller: &Caller, _spec: &Spec, args: &Args) -> Reply {
    let user = args.str("user").ok_or_else(|| err("user_not_found"))?;
    let u = st.user_in_team(&user, &caller.team_id).ok_or_else(|| err("user_not_found"))?;
    Ok(json!({"user": st.user_json(u)}))
}
