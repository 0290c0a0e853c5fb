//! Warroom's domain and ports. Knows nothing of AWS or HTTP: adapters implement the
//! ports in `ports`, functions wire them.

pub mod card;
pub mod event;
pub mod ids;
pub mod incident;
pub mod integration;
pub mod job;
pub mod lifecycle;
pub mod links;
pub mod ports;
pub mod postmortem;
pub mod ratelimit;
pub mod runbook;
pub mod similar;
pub mod tenant;
pub mod time;
pub mod timeline;

pub use card::{Card, CardAction};
pub use event::IncidentEvent;
pub use ids::*;
pub use incident::*;
pub use integration::*;
pub use job::{Job, JobKind};
pub use lifecycle::{Action, Change, TransitionError};
pub use ports::callbacks::{CallbackCodec, CallbackError, Click, EventDelivery, ImEvent, RawRequest, RawResponse};
pub use ports::im::{ApiFamily, Capabilities, ChatSummary, CreateChat, CreatedChat, ImError, ImPlatform, ImResult, InviteResult, PlatformFactory, StreamRef};
pub use ports::model::{
    ChatModel, ChatRequest, ChatTurn, Completion, FinishReason, ModelError, ModelEvent, ModelFactory, ModelInfo, ModelProvider, ModelSettings, ModelStream,
    Role, TokenUsage,
};
pub use ports::queue::{Delivery, JobHandler, JobQueue, Outcome, QueueError, QueueResult};
pub use ports::source::{SourceSync, SyncError, Synced};
pub use ports::store::{ChatMessage, ChatRef, IncidentPage, Newest, Store, StoreError, StoreResult};
pub use postmortem::Postmortem;
pub use tenant::*;
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
pub use timeline::{Actor, TimelineAction, TimelineEntry};
