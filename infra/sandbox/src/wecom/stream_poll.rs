//! The smart bot polls an unfinished stream by itself, as WeCom does: "若开发者回复消息类型包含
//! 流式消息，企业微信在未收到流式消息回复结束前，会不断向开发者回调url推送流式消息刷新（从用户发消息
//! 开始最多等待6min）" (doc 100719, notes Q1). Each refresh is a new signed, encrypted callback
//! ([`WeComSandbox::poll_stream`]); polling stops at `finish: true`, 6 minutes after the
//! question, or when the bundle cannot be reached. How often WeCom polls is not documented —
//! UNCERTAIN: once a second by default, settable for tests ([`WeComSandbox::set_stream_polling`]).

use std::time::Duration;

use super::bot_events::BotExchange;
use super::callbacks::CallbackError;
use super::WeComSandbox;

/// The refresh interval when none is set — UNCERTAIN (see the module docs).
pub const DEFAULT_POLL_EVERY: Duration = Duration::from_secs(1);

impl WeComSandbox {
    /// How often the bot polls unfinished streams by itself; `None` stops it (a test then
    /// drives `poll_stream` by hand).
    pub fn set_stream_polling(&self, every: Option<Duration>) {
        self.lock().stream_poll_every = every;
    }

    /// After a reply that started (or continued) an unfinished stream, polls it in the
    /// background until it finishes or WeCom would give up.
    pub(crate) fn poll_if_streaming(&self, url: &str, agent_id: i64, exchange: &BotExchange) {
        let Some(stream) = exchange.reply.as_ref().map(|r| &r["stream"]).filter(|s| s.is_object()) else { return };
        let (Some(id), false) = (stream["id"].as_str(), stream["finish"].as_bool().unwrap_or(false)) else { return };
        let Some(every) = self.lock().stream_poll_every else { return };
        let (sandbox, url, id) = (self.clone(), url.to_string(), id.to_string());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match sandbox.poll_stream(&url, agent_id, &id).await {
                    Ok(ex) if ex.reply.as_ref().is_some_and(|r| r["stream"]["finish"] == true) => break,
                    // An empty or unreadable answer: WeCom asks again.
                    Ok(_) => {}
                    Err(CallbackError::StreamFinished(_) | CallbackError::StreamExpired(_) | CallbackError::UnknownStream(_)) => break,
                    Err(e) => {
                        tracing::info!(stream = %id, error = %e, "the smart bot stopped polling a stream");
                        break;
                    }
                }
                if sandbox.lock().stream_poll_every.is_none() {
                    break;
                }
            }
        });
    }

    /// Waits until every stream finished (or `timeout` passed): whether they all did.
    pub async fn streams_settled(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.lock().streams.iter().all(|s| s.finish) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
