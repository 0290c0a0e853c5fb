//! The LLM sandbox, driven over real HTTP as the AI assistant's client would drive it.
//! Answers and recording in `llm/answers.rs`, refusals and faults in `llm/errors.rs`, streaming
//! in `llm/streaming.rs`, Azure and the control routes in `llm/azure.rs`; the fixture and a
//! hand-written SSE reader in `llm/support.rs`.

#[path = "llm/answers.rs"]
mod answers;
#[path = "llm/azure.rs"]
mod azure;
#[path = "llm/errors.rs"]
mod errors;
#[path = "llm/streaming.rs"]
mod streaming;
#[path = "llm/support.rs"]
mod support;
