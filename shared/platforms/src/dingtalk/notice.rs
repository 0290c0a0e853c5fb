//! Notices people must see exactly once ("Dee could not be invited", a command's answer).
//! A robot message (`groupMessages/send`) has no idempotency key and DingTalk has no history
//! API to look for an earlier one, so a retry after a lost answer would post it twice. A
//! notice is therefore a card without buttons, delivered with `createAndDeliver` under an
//! `outTrackId` derived from the chat and the notice key: the retry names the same card.
//!
//! UNCERTAIN: how DingTalk answers a `createAndDeliver` whose `outTrackId` already exists
//! (notes Q8 do not say). The sandbox returns the existing card; an answer naming the
//! duplicate is read as "already posted" ([`already_posted`]), kept in one place to change.

use super::card::notice_body;
use super::platform::DingTalkPlatform;
use super::short_hash;
use reqwest::Method;
use warroom_core::{ChatId, ImError, ImResult, MessageId};

/// The card permission point (a notice is a card).
const CARD_WRITE: &str = "Card.Instance.Write";

/// The notice's card id: the same for every retry of the same notice in the same chat.
pub(crate) fn notice_track(chat: &ChatId, key: &str) -> String {
    format!("wn_{}", short_hash(&[chat.as_str(), key]))
}

/// A refusal that says the `outTrackId` is taken: the earlier attempt got through.
fn already_posted(e: &ImError) -> bool {
    matches!(e, ImError::Rejected { code, message } if {
        let said = format!("{code} {message}").to_ascii_lowercase();
        let missing = said.contains("notexist") || said.contains("not exist");
        said.contains("outtrackid") && !missing && (said.contains("exist") || said.contains("duplicat") || said.contains("repeat"))
    })
}

impl DingTalkPlatform {
    pub(crate) async fn deliver_notice(&self, chat: &ChatId, text: &str, key: &str) -> ImResult<MessageId> {
        let track = notice_track(chat, key);
        let c = self.credentials();
        let body = notice_body(c.card_template(), &track, &c.card_route_key(), c.robot(), chat.as_str(), text);
        match self.client().new_api(Method::POST, "/v1.0/card/instances/createAndDeliver", CARD_WRITE, Some(&body)).await {
            Ok(_) => Ok(MessageId::new(track)),
            Err(e) if already_posted(&e) => Ok(MessageId::new(track)),
            Err(e) => Err(e),
        }
    }

    /// Replaces a notice card's text (the assistant's answer growing), by its `outTrackId`.
    pub(crate) async fn update_notice(&self, track: &MessageId, text: &str) -> ImResult<()> {
        let body = super::card::notice_update_body(track.as_str(), text);
        self.client().new_api(Method::PUT, "/v1.0/card/instances", CARD_WRITE, Some(&body)).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_keeps_its_card_id_across_retries_and_differs_by_chat_and_key() {
        let (a, b) = (ChatId::new("cid1"), ChatId::new("cid2"));
        assert_eq!(notice_track(&a, "unl-1"), notice_track(&a, "unl-1"));
        assert_ne!(notice_track(&a, "unl-1"), notice_track(&b, "unl-1"));
        assert_ne!(notice_track(&a, "unl-1"), notice_track(&a, "unl-2"));
        assert!(notice_track(&a, "k").starts_with("wn_"));
    }

    #[test]
    fn only_a_refusal_naming_a_taken_out_track_id_counts_as_already_posted() {
        let taken = ImError::Rejected { code: "param.outTrackIdExist".into(), message: "outTrackId already exists".into() };
        assert!(already_posted(&taken));
        assert!(!already_posted(&ImError::Rejected { code: "param.outTrackIdNotExist".into(), message: "no such card".into() }));
        assert!(!already_posted(&ImError::Rejected { code: "invalidParameter".into(), message: "bad robot".into() }));
        assert!(!already_posted(&ImError::Transient("timeout".into())));
    }
}
