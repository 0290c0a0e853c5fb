//! WeCom callbacks through `WeComCodec::decode_event` and `decode_click`: the app's XML
//! callbacks, the smart bot's JSON callbacks and URL checks (GET), any method, query and
//! body; see `warroom_fuzz::wecom_request` for the input format.
//!
//! Properties, besides never panicking:
//! - whatever the codec accepts was signed right with one of the two Tokens over the
//!   ciphertext the request carries, inside the 15-minute window, as the harness checks from
//!   the reference (`warroom_fuzz::wecom_signed`) where it can read the body for sure;
//! - a rightly signed request outside its window (or with no integer timestamp) is refused
//!   as `Stale`;
//! - what the harness sealed and signed right inside the window is never refused as
//!   unsigned or stale, and a URL check so made is answered with exactly its echo;
//! - a click is decoded only from a request the event decoding accepts too;
//! - no answer (event, click, refusal) carries a Token or an EncodingAESKey the input did
//!   not itself carry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warroom_core::{CallbackCodec, CallbackError, ImEvent};
use warroom_fuzz::{
    refused, wecom_codec, wecom_encrypt_of, wecom_request, wecom_signed, Signed, WECOM_AES_KEY, WECOM_BOT_AES_KEY, WECOM_BOT_TOKEN, WECOM_TOKEN,
};

/// No secret in `text`, unless the input itself carried it (an error may name the request's
/// own method, say).
fn no_secret(data: &[u8], what: &str, text: &str) {
    for secret in [WECOM_TOKEN, WECOM_AES_KEY, WECOM_BOT_TOKEN, WECOM_BOT_AES_KEY] {
        let given = data.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(given || !text.contains(secret), "{what} carries a secret");
    }
}

fuzz_target!(|data: &[u8]| {
    let codec = wecom_codec();
    for (request, right) in &wecom_request(data) {
        let signed = wecom_signed(request);
        let sure = wecom_encrypt_of(&request.method, &request.query, &request.body).is_some();
        let event = request.run(|r| codec.decode_event(r));
        let click = request.run(|r| codec.decode_click(r));
        if sure {
            for (what, ok) in [("event", event.is_ok()), ("click", click.is_ok())] {
                assert!(!ok || signed == Signed::Fresh, "accepted a {what} the harness finds {signed:?}");
            }
        }
        assert!(click.is_err() || event.is_ok(), "a click decoded from a request whose event decoding fails: {:?}", event.as_ref().err());
        match signed {
            Signed::Stale => assert_eq!(event.as_ref().err(), Some(&CallbackError::Stale), "a stale request"),
            Signed::Fresh if *right => {
                if let Err(e) = &event {
                    assert!(!refused(e), "a rightly signed and sealed request was refused: {e:?}");
                }
            }
            _ => {}
        }
        if let (Ok(delivery), true, "GET") = (&event, *right, request.method.as_str()) {
            let ImEvent::Handshake(answer) = &delivery.event else { panic!("a URL check decoded as {:?}", delivery.event) };
            assert_eq!(answer.status, 200);
            assert_eq!(answer.body, data[1..].to_vec(), "the echo alone, nothing added");
        }
        if let Err(e) = &event {
            no_secret(data, "an event refusal", &e.to_string());
        }
        if let Err(e) = &click {
            no_secret(data, "a click refusal", &e.to_string());
        }
        if let Ok(c) = &click {
            no_secret(data, "a click", &format!("{c:?}"));
        }
        let ack = codec.event_ack();
        assert_eq!((ack.status, ack.body.len()), (200, 0), "the acknowledgement is an empty 200");
    }
});
