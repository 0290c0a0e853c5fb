//! Feishu / Lark (being written).
