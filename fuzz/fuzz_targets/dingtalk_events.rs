//! DingTalk callbacks through `DingTalkCodec::decode_event` and `decode_click`: event
//! pushes (`msg_signature`, `timeStamp`, `nonce` in the query, an encrypted body), robot
//! messages (`timestamp` and `sign` headers) and card clicks (`x-ddpaas-signature`
//! headers); see `warroom_fuzz::dingtalk_request` for the input format. Every request goes
//! through three codecs with different credentials (`warroom_fuzz::dingtalk_cases`).
//!
//! Properties, besides never panicking:
//! - whatever a codec accepts was signed right for that codec's credentials and is inside
//!   its window, as the harness checks from the reference (`warroom_fuzz::dingtalk_signed`);
//! - a rightly signed request outside its window is refused as `Stale`, one whose timestamp
//!   is no integer as `BadSignature`;
//! - what the harness signed and sealed right for the `full` codec inside the window is
//!   never refused;
//! - after an accepted event push the acknowledgement is the encrypted, signed `success`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warroom_core::{CallbackCodec, CallbackError};
use warroom_fuzz::{dingtalk_cases, dingtalk_kind, dingtalk_request, dingtalk_signed, refused, DingTalkKind, Signed, DINGTALK_APP_KEY, DINGTALK_CORP_ID};

/// The encrypted `success` DingTalk expects after a push, checked as DingTalk would.
fn assert_encrypted_success(case: &warroom_fuzz::DingTalkCase) {
    let ack = case.codec.event_ack();
    let v: serde_json::Value = serde_json::from_slice(&ack.body).expect("the acknowledgement is JSON");
    let field = |k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
    let crypto = warroom_platforms::dingtalk::EventCrypto::new(&case.credentials.event_token, &case.credentials.event_aes_key).expect("accepted, so usable");
    let (encrypt, ts, nonce) = (field("encrypt"), field("timeStamp"), field("nonce"));
    assert!(crypto.verify(&field("msg_signature"), &ts, &nonce, &encrypt), "{}: the acknowledgement's signature", case.name);
    assert_eq!(crypto.decrypt(&encrypt, &[DINGTALK_APP_KEY, DINGTALK_CORP_ID]).as_deref(), Ok("success"), "{}: the acknowledgement", case.name);
}

fuzz_target!(|data: &[u8]| {
    for (request, right) in &dingtalk_request(data) {
        for case in dingtalk_cases() {
            let signed = dingtalk_signed(&case.credentials, request);
            let event = request.run(|r| case.codec.decode_event(r));
            let click = request.run(|r| case.codec.decode_click(r));
            for (what, ok) in [("event", event.is_ok()), ("click", click.is_ok())] {
                assert!(!ok || signed == Signed::Fresh, "{}: accepted a {what} the harness finds {signed:?}", case.name);
            }
            match signed {
                Signed::Stale => assert_eq!(event.as_ref().err(), Some(&CallbackError::Stale), "{}: a stale request", case.name),
                Signed::BadTimestamp => assert_eq!(event.as_ref().err(), Some(&CallbackError::BadSignature), "{}: a non-integer timestamp", case.name),
                Signed::Fresh if *right && case.name == "full" => {
                    if let Err(e) = &event {
                        assert!(!refused(e), "{}: a rightly signed and sealed request was refused: {e:?}", case.name);
                    }
                }
                _ => {}
            }
            if event.is_ok() && dingtalk_kind(request) == DingTalkKind::Event {
                assert_encrypted_success(case);
            } else {
                let _ = case.codec.event_ack();
            }
        }
    }
});
