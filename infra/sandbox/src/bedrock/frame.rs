//! The AWS event-stream frame (`application/vnd.amazon.eventstream`), written by hand so the
//! sandbox does not share an encoder with the SDK it tests: a bug would have to be made twice
//! to go unnoticed.
//!
//! Layout (AWS's "Event stream encoding", docs.aws.amazon.com/AmazonS3/latest/API/
//! RESTSelectObjectAppendix.html and docs.aws.amazon.com/transcribe/latest/dg/event-stream.html;
//! the same as smithy-rs `aws-smithy-eventstream` 0.61.6 `src/frame.rs`, `write_message_to`):
//!
//! ```text
//! total length u32 BE | headers length u32 BE | prelude CRC32 u32 BE (of the 8 bytes before)
//! headers             | payload               | message CRC32 u32 BE (of everything before)
//! ```
//!
//! A header is: name length u8, name (UTF-8), value type u8, value. Type 7 is a string (u16 BE
//! length, then UTF-8), type 3 a 16-bit integer (BE). The sandbox sends only strings; the
//! integer is here for the official test vector. CRC32 is the IEEE polynomial (`crc32fast`).

/// A header value the sandbox writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// Type 3.
    Int16(i16),
    /// Type 7.
    String(&'a str),
}

/// One whole frame: `headers` in order, then `payload`. Panics only on sizes the sandbox never
/// makes (a header name over 255 bytes, a string over 64 KiB, a frame over 4 GiB).
pub fn encode(headers: &[(&str, Value<'_>)], payload: &[u8]) -> Vec<u8> {
    let mut head = Vec::new();
    for (name, value) in headers {
        let name_len = u8::try_from(name.len()).expect("an event-stream header name fits in 255 bytes");
        head.push(name_len);
        head.extend_from_slice(name.as_bytes());
        match value {
            Value::Int16(n) => {
                head.push(3);
                head.extend_from_slice(&n.to_be_bytes());
            }
            Value::String(s) => {
                head.push(7);
                let len = u16::try_from(s.len()).expect("an event-stream string header fits in 64 KiB");
                head.extend_from_slice(&len.to_be_bytes());
                head.extend_from_slice(s.as_bytes());
            }
        }
    }
    // Prelude (12) + headers + payload + message CRC (4).
    let total = u32::try_from(12 + head.len() + payload.len() + 4).expect("an event-stream frame fits in 4 GiB");
    let mut frame = Vec::with_capacity(total as usize);
    frame.extend_from_slice(&total.to_be_bytes());
    frame.extend_from_slice(&(head.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&frame);
    frame.extend_from_slice(&prelude_crc.to_be_bytes());
    frame.extend_from_slice(&head);
    frame.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&frame);
    frame.extend_from_slice(&message_crc.to_be_bytes());
    frame
}

/// An event: `:event-type`, `:content-type: application/json`, `:message-type: event` —
/// the three headers Bedrock sends on each ConverseStream event (the SDK's unmarshaller,
/// aws-sdk-bedrockruntime 1.153.0 `src/event_stream_serde.rs`, reads `:message-type` and
/// `:event-type`; `aws-smithy-eventstream` `src/smithy.rs` `parse_response_headers`).
pub fn event(event_type: &str, payload: &serde_json::Value) -> Vec<u8> {
    let body = payload.to_string();
    encode(
        &[(":event-type", Value::String(event_type)), (":content-type", Value::String("application/json")), (":message-type", Value::String("event"))],
        body.as_bytes(),
    )
}

/// A modelled exception inside the stream: `:message-type: exception` and `:exception-type`
/// the member's name in camel case (`throttlingException`, `modelStreamErrorException`, …,
/// as the SDK's unmarshaller matches them), payload `{"message": …}`.
pub fn exception(exception_type: &str, message: &str) -> Vec<u8> {
    let body = serde_json::json!({ "message": message }).to_string();
    encode(
        &[
            (":exception-type", Value::String(exception_type)),
            (":content-type", Value::String("application/json")),
            (":message-type", Value::String("exception")),
        ],
        body.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // The official test vectors of smithy-rs (aws-smithy-eventstream 0.61.6, `test_data/`,
    // github.com/smithy-lang/smithy-rs, rust-runtime/aws-smithy-eventstream/test_data), byte
    // for byte.
    const VALID_NO_HEADERS: &[u8] = &[
        0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x51, 0x63, 0x56, 0xad, 0x61, 0x6e, 0x6f, 0x74, 0x68, 0x65, 0x72, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20,
        0x70, 0x61, 0x79, 0x6c, 0x6f, 0x61, 0x64, 0x8d, 0xf8, 0x0e, 0x65,
    ];
    const VALID_EMPTY_PAYLOAD: &[u8] = &[
        0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x0f, 0x17, 0x2d, 0xc2, 0xab, 0x0b, 0x73, 0x6f, 0x6d, 0x65, 0x2d, 0x68, 0x65, 0x61, 0x64, 0x65, 0x72, 0x03,
        0x01, 0xf4, 0x93, 0x3c, 0x5c, 0xad,
    ];

    #[test]
    fn frames_match_the_official_test_vectors_byte_for_byte() {
        assert_eq!(encode(&[], b"another test payload"), VALID_NO_HEADERS);
        assert_eq!(encode(&[("some-header", Value::Int16(500))], b""), VALID_EMPTY_PAYLOAD);
    }

    #[test]
    fn a_frame_states_its_lengths_and_its_checksums_cover_what_they_should() {
        let f = event("contentBlockDelta", &serde_json::json!({"delta": {"text": "hé"}}));
        assert_eq!(u32::from_be_bytes(f[0..4].try_into().unwrap()) as usize, f.len());
        let headers_len = u32::from_be_bytes(f[4..8].try_into().unwrap()) as usize;
        assert_eq!(u32::from_be_bytes(f[8..12].try_into().unwrap()), crc32fast::hash(&f[..8]));
        let n = f.len();
        assert_eq!(u32::from_be_bytes(f[n - 4..].try_into().unwrap()), crc32fast::hash(&f[..n - 4]));
        let payload = &f[12 + headers_len..n - 4];
        assert_eq!(serde_json::from_slice::<serde_json::Value>(payload).unwrap()["delta"]["text"], "hé");
        // The first header is `:event-type` = `contentBlockDelta`, as a string (type 7).
        assert_eq!(&f[12..24], b"\x0b:event-type");
        assert_eq!(f[24], 7);
        assert_eq!(&f[27..44], b"contentBlockDelta");
    }
}
