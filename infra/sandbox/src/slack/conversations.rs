//! conversations.* and users.conversations. Error codes from slack-api-ref
//! `docs.slack.dev/methods/conversations.*.json` (`errors`), shapes from their `examples`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use super::api::{err, missing_field, ApiError, Args, Caller, Reply, Spec};
use super::state::{ts_key, unix_now, Channel, State};

/// The channel named by `arg`, if the caller may see it: `channel_not_found` for an unknown ID,
/// another workspace's channel, or a private channel the bot is not in (private channels are
/// invisible to non-members). `by_name` also accepts `#name` / `name` (chat.postMessage: "An
/// encoded ID or channel name").
pub(crate) fn visible(st: &State, caller: &Caller, arg: Option<String>, by_name: bool) -> Result<String, ApiError> {
    let arg = arg.ok_or_else(|| err("channel_not_found"))?;
    let found = st.channels.get(&arg).or_else(|| {
        let name = arg.strip_prefix('#').unwrap_or(&arg);
        by_name.then(|| st.channels.values().find(|c| c.team_id == caller.team_id && c.name == name)).flatten()
    });
    match found {
        Some(c) if c.team_id == caller.team_id && (!c.is_private || is_member(c, &caller.bot_user_id)) => Ok(c.id.clone()),
        _ => Err(err("channel_not_found")),
    }
}

pub(crate) fn is_member(c: &Channel, user: &str) -> bool {
    c.members.iter().any(|m| m == user)
}

fn chan<'a>(st: &'a State, id: &str) -> &'a Channel {
    &st.channels[id]
}

/// Name rules from the conversations.create docs: "Channel names may only contain lowercase
/// letters, numbers, hyphens, and underscores, and must be 80 characters or less"; errors
/// `invalid_name_required`, `invalid_name_maxlength`, `invalid_name_specials` ("contained
/// unallowed special characters or upper case characters"), `invalid_name_punctuation`
/// ("contained only punctuation").
fn validate_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() {
        return Err(err("invalid_name_required"));
    }
    if name.chars().count() > 80 {
        return Err(err("invalid_name_maxlength"));
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return Err(err("invalid_name_specials"));
    }
    if name.chars().all(|c| c == '-' || c == '_') {
        return Err(err("invalid_name_punctuation"));
    }
    Ok(())
}

pub(crate) fn create(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    let is_private = args.flag("is_private");
    caller.require_kind(spec, is_private)?;
    let name = args.str("name").unwrap_or_default();
    validate_name(&name)?;
    // Archived channels keep their names: creating a channel whose name an archived channel
    // holds fails (monzo/response#23: "if you try to create a comms channel when the name has
    // been used already, and the channel is archived, it'll fail"). The brief said non-archived
    // only; real Slack is stricter, and the sandbox follows Slack.
    if st.channels.values().any(|c| c.team_id == caller.team_id && c.name == name) {
        return Err(err("name_taken"));
    }
    let id = st.new_channel(&caller.team_id, &caller.bot_user_id, &name, is_private);
    Ok(json!({"channel": st.channel_json(chan(st, &id), Some(&caller.bot_user_id))}))
}

/// Common checks for acting inside a channel: visible, right scope for its type, not archived
/// (`archived_code`), bot is a member (`not_in_channel`).
fn writable(st: &State, caller: &Caller, spec: &Spec, args: &Args, archived_code: &'static str) -> Result<String, ApiError> {
    let id = visible(st, caller, args.str("channel"), false)?;
    let c = chan(st, &id);
    caller.require_kind(spec, c.is_private)?;
    if c.is_archived {
        return Err(err(archived_code));
    }
    if !is_member(c, &caller.bot_user_id) {
        return Err(err("not_in_channel"));
    }
    Ok(id)
}

pub(crate) fn set_topic(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    let id = writable(st, caller, spec, args, "is_archived")?;
    let topic = match args.0.get("topic") {
        None | Some(Value::Null) => return Err(missing_field("topic")),
        Some(v) => v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()),
    };
    if topic.chars().count() > 250 {
        return Err(err("too_long"));
    }
    let c = st.channels.get_mut(&id).expect("visible");
    c.topic.value = topic;
    c.topic.creator = caller.bot_user_id.clone();
    c.topic.last_set = unix_now();
    Ok(json!({"channel": st.channel_json(chan(st, &id), Some(&caller.bot_user_id))}))
}

/// Per-user failures come back as an `errors` array, as in the docs error example:
/// `{"ok":false,"error":"user_not_found","errors":[{"user":"U111111","ok":false,"error":"user_not_found"},…]}`.
/// Without `force` one bad ID fails the whole call; with `force` the valid ones are invited
/// ("continue inviting the valid ones while disregarding invalid IDs") and the answer is ok
/// with the `errors` array (UNCERTAIN: the forced answer's exact shape is not documented).
pub(crate) fn invite(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    let id = writable(st, caller, spec, args, "is_archived")?;
    let users: Vec<String> = args.str("users").unwrap_or_default().split(',').map(|u| u.trim().to_string()).filter(|u| !u.is_empty()).collect();
    if users.is_empty() {
        return Err(err("no_user"));
    }
    let c = chan(st, &id);
    let (mut to_add, mut errors, mut already) = (Vec::new(), Vec::new(), Vec::new());
    for u in &users {
        let problem = if st.user_in_team(u, &caller.team_id).is_none() {
            Some("user_not_found")
        } else if *u == caller.bot_user_id {
            Some("cant_invite_self")
        } else if is_member(c, u) {
            already.push(json!({"user": u, "ok": false, "error": "already_in_channel"}));
            None
        } else {
            if !to_add.contains(u) {
                to_add.push(u.clone());
            }
            None
        };
        if let Some(code) = problem {
            errors.push((code, json!({"user": u, "ok": false, "error": code})));
        }
    }
    let force = args.flag("force");
    if let Some((first, _)) = errors.first() {
        if !force || to_add.is_empty() {
            let mut e = err(first);
            e.extra.insert("errors".into(), Value::Array(errors.into_iter().map(|(_, v)| v).collect()));
            return Err(e);
        }
    }
    if to_add.is_empty() {
        // Everyone named is already in: already_in_channel (with the per-user array, UNCERTAIN).
        let mut e = err("already_in_channel");
        e.extra.insert("errors".into(), Value::Array(already));
        return Err(e);
    }
    st.channels.get_mut(&id).expect("visible").members.extend(to_add);
    let mut out = json!({"channel": st.channel_json(chan(st, &id), Some(&caller.bot_user_id))});
    if !errors.is_empty() {
        out["errors"] = Value::Array(errors.into_iter().map(|(_, v)| v).collect());
    }
    Ok(out)
}

pub(crate) fn archive(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    let id = writable(st, caller, spec, args, "already_archived")?;
    st.channels.get_mut(&id).expect("visible").is_archived = true;
    Ok(json!({}))
}

pub(crate) fn info(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    let id = visible(st, caller, args.str("channel"), false)?;
    let c = chan(st, &id);
    caller.require_kind(spec, c.is_private)?;
    let mut v = st.channel_json(c, Some(&caller.bot_user_id));
    if !args.flag("include_num_members") {
        v.as_object_mut().expect("object").remove("num_members");
    }
    Ok(json!({"channel": v}))
}

/// Newest first, `limit` (default 100, max 999), `latest`/`oldest` (exclusive unless
/// `inclusive`), `cursor` = base64 of `next_ts:<ts digits>` like the docs example cursor
/// `bmV4dF90czoxNTEyMDg1ODYxMDAwNTQz`. Thread replies stay out of history (they live in
/// conversations.replies).
pub(crate) fn history(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    let id = visible(st, caller, args.str("channel"), false)?;
    let c = chan(st, &id);
    caller.require_kind(spec, c.is_private)?;
    if !is_member(c, &caller.bot_user_id) {
        return Err(err("not_in_channel"));
    }
    let bound = |k: &str, code: &'static str| -> Result<Option<(u64, u32)>, ApiError> { args.str(k).map(|t| ts_key(&t).ok_or_else(|| err(code))).transpose() };
    let latest = bound("latest", "invalid_ts_latest")?;
    let oldest = bound("oldest", "invalid_ts_oldest")?;
    let inclusive = args.flag("inclusive");
    let cursor = match args.str("cursor") {
        None => None,
        Some(cur) => {
            let raw = B64.decode(cur.as_bytes()).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
            let digits = raw.strip_prefix("next_ts:").filter(|d| d.len() > 6 && d.bytes().all(|b| b.is_ascii_digit()));
            let d = digits.ok_or_else(|| err("invalid_cursor"))?;
            Some(ts_key(&format!("{}.{}", &d[..d.len() - 6], &d[d.len() - 6..])).ok_or_else(|| err("invalid_cursor"))?)
        }
    };
    let limit = args.limit(100, 999);
    let mut picked: Vec<&super::state::Message> = c
        .messages
        .iter()
        .filter(|m| m.thread_ts.as_ref().is_none_or(|t| *t == m.ts))
        .filter(|m| {
            let k = ts_key(&m.ts).unwrap_or_default();
            latest.is_none_or(|l| k < l || (inclusive && k == l)) && oldest.is_none_or(|o| k > o || (inclusive && k == o)) && cursor.is_none_or(|cur| k <= cur)
        })
        .collect();
    picked.reverse();
    let has_more = picked.len() > limit;
    let next = picked.get(limit).map(|m| B64.encode(format!("next_ts:{}", m.ts.replace('.', ""))));
    let messages: Vec<Value> = picked.iter().take(limit).map(|m| st.message_json(&c.team_id, m)).collect();
    let mut out = json!({"messages": messages, "has_more": has_more, "pin_count": 0});
    if let Some(next) = next {
        out["response_metadata"] = json!({"next_cursor": next});
    }
    Ok(out)
}

pub(crate) fn list(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    listing(st, caller, spec, args, None)
}

pub(crate) fn user_conversations(st: &mut State, caller: &Caller, spec: &Spec, args: &Args) -> Reply {
    let user = args.str("user").unwrap_or_else(|| caller.bot_user_id.clone());
    if st.user_in_team(&user, &caller.team_id).is_none() {
        return Err(err("user_not_found"));
    }
    listing(st, caller, spec, args, Some(user))
}

/// conversations.list (`member_of` None) and users.conversations: `types` (default
/// `public_channel`; also `private_channel`, `mpim`, `im`, else `invalid_types`), each type
/// needing its read scope; `exclude_archived`; `limit` (default 100, max 999); `cursor` =
/// base64 of `channel:<id>`; `response_metadata.next_cursor` is "" on the last page.
fn listing(st: &State, caller: &Caller, spec: &Spec, args: &Args, member_of: Option<String>) -> Reply {
    let types_arg = args.str("types").unwrap_or_else(|| "public_channel".into());
    let (mut public, mut private) = (false, false);
    for t in types_arg.split(',').map(str::trim) {
        match t {
            "public_channel" => public = true,
            "private_channel" => private = true,
            "mpim" => caller.require(&["mpim:read"])?,
            "im" => caller.require(&["im:read"])?,
            _ => return Err(err("invalid_types")),
        }
    }
    if public {
        caller.require_kind(spec, false)?;
    }
    if private {
        caller.require_kind(spec, true)?;
    }
    let after = match args.str("cursor") {
        None => None,
        Some(cur) => {
            let raw = B64.decode(cur.as_bytes()).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
            Some(raw.strip_prefix("channel:").map(str::to_string).ok_or_else(|| err("invalid_cursor"))?)
        }
    };
    let exclude_archived = args.flag("exclude_archived");
    let limit = args.limit(100, 999);
    let bot = &caller.bot_user_id;
    let matching: Vec<&Channel> = st
        .channels
        .values()
        .filter(|c| c.team_id == caller.team_id)
        .filter(|c| if c.is_private { private && is_member(c, bot) } else { public })
        .filter(|c| !(exclude_archived && c.is_archived))
        .filter(|c| member_of.as_ref().is_none_or(|u| is_member(c, u)))
        .filter(|c| after.as_ref().is_none_or(|a| c.id >= *a))
        .collect();
    let viewer = if member_of.is_some() { None } else { Some(bot.as_str()) };
    let channels: Vec<Value> = matching.iter().take(limit).map(|c| st.channel_json(c, viewer)).collect();
    let next = matching.get(limit).map(|c| B64.encode(format!("channel:{}", c.id))).unwrap_or_default();
    Ok(json!({"channels": channels, "response_metadata": {"next_cursor": next}}))
}
