//! Encrypted passive replies: the body of the HTTP answer to a callback, for when an
//! empty 200 is not enough (a card update on a click, a stream chunk).

use super::crypto::MsgCrypt;
use serde_json::{json, Value};

/// The smart bot's encrypted reply (notes Q1, doc 101033): `{"encrypt", "msgsignature"
/// (lowercase), "timestamp", "nonce"}`, ReceiveId "", the nonce being the callback URL's.
/// `timestamp` is a string as in the official library's JSON template
/// (`WXBizJsonMsgCrypt` `AES_TEXT_RESPONSE_TEMPLATE`, and its PHP twin); some third-party
/// bots send a number — UNCERTAIN whether WeCom cares, kept in this one function.
pub fn bot_reply_json(crypt: &MsgCrypt, plaintext: &str, timestamp: &str, nonce: &str) -> Value {
    let encrypt = crypt.encrypt(plaintext, "");
    json!({
        "encrypt": encrypt,
        "msgsignature": crypt.signature(timestamp, nonce, &encrypt),
        "timestamp": timestamp,
        "nonce": nonce,
    })
}

/// Text inside CDATA: a `]]>` in it is split across two sections.
fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

/// The app's encrypted XML reply (wecom.md §2; `WXBizMsgCrypt.py` `XMLParse`):
/// `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`, ReceiveId = CorpID.
pub fn app_reply_xml(crypt: &MsgCrypt, plaintext: &str, corp_id: &str, timestamp: &str, nonce: &str) -> String {
    let encrypt = crypt.encrypt(plaintext, corp_id);
    let signature = crypt.signature(timestamp, nonce, &encrypt);
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(&encrypt),
        cdata(&signature),
        timestamp.chars().filter(char::is_ascii_digit).collect::<String>(),
        cdata(nonce),
    )
}

/// The plaintext of the app's passive reply to a button click that turns the clicker's
/// buttons into a disabled label (notes Q2, doc 90241: `MsgType=update_button`,
/// `Button/ReplaceName`); it updates only the clicker's card.
pub fn update_button_plaintext(to_user: &str, corp_id: &str, create_time_secs: i64, replace_name: &str) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{create_time_secs}</CreateTime><MsgType>{}</MsgType><Button><ReplaceName>{}</ReplaceName></Button></xml>",
        cdata(to_user),
        cdata(corp_id),
        cdata("update_button"),
        cdata(replace_name),
    )
}
