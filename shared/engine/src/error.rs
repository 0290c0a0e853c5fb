use warroom_core::{ImError, ModelError, QueueError, StoreError, SyncError, TransitionError};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0} not found")]
    NotFound(String),
    /// The clicker has no linked account: they are told where to link it.
    #[error("your IM account is not linked to a Warroom member yet; link it here: {link_url}")]
    NotLinked { link_url: String },
    #[error("{0}")]
    Refused(#[from] TransitionError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Platform(#[from] ImError),
    #[error("status sync failed: {0}")]
    Sync(SyncError),
    #[error("the assistant's model failed: {0}")]
    Model(ModelError),
}

impl EngineError {
    pub fn is_retryable(&self) -> bool {
        match self {
            EngineError::Store(e) => e.is_retryable(),
            EngineError::Queue(e) => e.is_retryable(),
            EngineError::Platform(e) => e.is_retryable(),
            EngineError::Sync(e) => e.retryable,
            EngineError::Model(e) => e.is_retryable(),
            _ => false,
        }
    }
}
