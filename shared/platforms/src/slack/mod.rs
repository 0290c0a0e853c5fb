//! Slack (being written).
