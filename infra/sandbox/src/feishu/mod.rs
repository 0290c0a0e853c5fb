//! Feishu sandbox (being written).
