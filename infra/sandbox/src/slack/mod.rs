//! Slack sandbox (being written).
