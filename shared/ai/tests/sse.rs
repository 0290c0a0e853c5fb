//! The SSE parser and the chunk decoder, fed a known stream cut at every kind of place.

use std::collections::VecDeque;
use warroom_ai::sse::{SseEvent, SseParser};
use warroom_ai::ChunkDecoder;
use warroom_core::{FinishReason, ModelEvent, TokenUsage};

/// A recorded OpenAI-style stream with everything a server may do: CRLF and bare CR line
/// ends, keep-alive comments, an `event:` line, a two-line `data`, multi-byte characters,
/// a usage chunk, `[DONE]`.
const STREAM: &str = concat!(
    ": keep-alive\r\n\r\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\r\n\r\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"数据库\"},\"finish_reason\":null}]}\n\n",
    ":\n",
    "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\" failed over 🚒\"}}]}\r\r",
    "event: message\n",
    "data: {\"choices\":[{\"index\":0,\n",
    "data: \"delta\":{\"content\":\", p99 recovered.\"},\"finish_reason\":\"stop\"}]}\n\n",
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":9,\"total_tokens\":51}}\n\n",
    "data: [DONE]\n\n",
);

fn expected_data() -> Vec<String> {
    vec![
        "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}".into(),
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"数据库\"},\"finish_reason\":null}]}".into(),
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\" failed over 🚒\"}}]}".into(),
        "{\"choices\":[{\"index\":0,\n\"delta\":{\"content\":\", p99 recovered.\"},\"finish_reason\":\"stop\"}]}".into(),
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":9,\"total_tokens\":51}}".into(),
        "[DONE]".into(),
    ]
}

fn parse_in_pieces(bytes: &[u8], cuts: &[usize]) -> Vec<SseEvent> {
    let (mut parser, mut out, mut from) = (SseParser::new(), Vec::new(), 0);
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        parser.feed(&bytes[from..cut], &mut out).unwrap();
        from = cut;
    }
    parser.finish(&mut out);
    out
}

/// xorshift64*: deterministic, so a failure names its seed and can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn the_stream_parses_the_same_whole_as_in_one_byte_pieces() {
    let bytes = STREAM.as_bytes();
    let whole: Vec<String> = parse_in_pieces(bytes, &[]).into_iter().map(|e| e.data).collect();
    assert_eq!(whole, expected_data());
    let every_byte: Vec<usize> = (1..bytes.len()).collect();
    assert_eq!(parse_in_pieces(bytes, &every_byte), parse_in_pieces(bytes, &[]));
}

#[test]
fn every_single_cut_point_gives_the_same_events() {
    let bytes = STREAM.as_bytes();
    let whole = parse_in_pieces(bytes, &[]);
    for cut in 0..=bytes.len() {
        assert_eq!(parse_in_pieces(bytes, &[cut]), whole, "cut at byte {cut}");
    }
}

#[test]
fn thousands_of_random_splits_give_the_same_events() {
    let bytes = STREAM.as_bytes();
    let whole = parse_in_pieces(bytes, &[]);
    for seed in 1..=3000u64 {
        let mut rng = Rng(seed);
        let pieces = 1 + (rng.next() % 40) as usize;
        let mut cuts: Vec<usize> = (0..pieces).map(|_| (rng.next() % (bytes.len() as u64 + 1)) as usize).collect();
        cuts.sort_unstable();
        assert_eq!(parse_in_pieces(bytes, &cuts), whole, "seed {seed}, cuts {cuts:?}");
    }
}

#[test]
fn the_event_field_is_kept_and_reset_after_each_dispatch() {
    let events = parse_in_pieces(b"event: ping\ndata: 1\n\ndata: 2\n\n", &[]);
    assert_eq!(events[0], SseEvent { event: Some("ping".into()), data: "1".into() });
    assert_eq!(events[1], SseEvent { event: None, data: "2".into() });
}

#[test]
fn a_last_event_without_its_blank_line_is_still_dispatched_at_the_end() {
    assert_eq!(parse_in_pieces(b"data: [DONE]", &[]), vec![SseEvent { event: None, data: "[DONE]".into() }]);
    assert_eq!(parse_in_pieces(b"data: [DONE]\n", &[]), vec![SseEvent { event: None, data: "[DONE]".into() }]);
}

#[test]
fn comments_blank_lines_and_unknown_fields_dispatch_nothing() {
    assert!(parse_in_pieces(b": hi\n\n\r\n\rid: 7\nretry: 10\n\nfoo: bar\n\n", &[]).is_empty());
}

#[test]
fn a_line_that_never_ends_is_refused_once_it_passes_the_cap() {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    let piece = vec![b'x'; 64 * 1024];
    let mut refused = false;
    for _ in 0..(SseParser::MAX_EVENT_BYTES / piece.len() + 2) {
        if parser.feed(&piece, &mut out).is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused);
}

#[test]
fn the_decoder_turns_the_stream_into_deltas_usage_and_a_final_finish() {
    let mut decoder = ChunkDecoder::default();
    let mut out = VecDeque::new();
    for event in parse_in_pieces(STREAM.as_bytes(), &[]) {
        decoder.decode(&event, None, "test/chat/completions", &mut out);
    }
    let events: Vec<ModelEvent> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        events,
        vec![
            ModelEvent::Delta("数据库".into()),
            ModelEvent::Delta(" failed over 🚒".into()),
            ModelEvent::Delta(", p99 recovered.".into()),
            ModelEvent::Usage(TokenUsage { input: 42, output: 9 }),
            ModelEvent::Finished { reason: FinishReason::Stop },
        ]
    );
}

#[test]
fn the_decoder_reports_unreadable_chunks_and_ignores_everything_after_an_error() {
    let mut decoder = ChunkDecoder::default();
    let mut out = VecDeque::new();
    for data in ["{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"", "[DONE]"] {
        decoder.decode(&SseEvent { event: None, data: data.into() }, None, "h/p", &mut out);
    }
    assert_eq!(out.len(), 1);
    assert!(matches!(out[0], Err(warroom_core::ModelError::StreamBroken(_))), "{out:?}");
}
