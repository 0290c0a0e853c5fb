//! Path-aware reads from parsed JSON.
//!
//! Serde's derive would report a wrong type as "invalid type: integer, expected a string at
//! line 1 column 80", which a sender cannot act on. Reading through [`Obj`] instead names
//! the field (`responders[2].email`), which is what every [`IntakeError::Invalid`] carries.

use crate::IntakeError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use warroom_core::Timestamp;

/// Parses the body; syntax errors keep serde's line and column in the reason.
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, IntakeError> {
    serde_json::from_slice(body).map_err(|e| IntakeError::Malformed { reason: e.to_string() })
}

/// A JSON object and where it sits in the document (`""` for the root).
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

/// A JSON array and where it sits in the document.
pub(crate) struct Arr<'a> {
    items: &'a [Value],
    path: String,
}

impl<'a> Obj<'a> {
    /// The document itself, which every source sends as an object.
    pub(crate) fn root(value: &'a Value) -> Result<Self, IntakeError> {
        match value {
            Value::Object(map) => Ok(Obj { map, path: String::new() }),
            other => Err(IntakeError::Malformed { reason: format!("expected a JSON object, got {}", kind(other)) }),
        }
    }

    /// The full path of one of this object's fields.
    pub(crate) fn path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// This object's own path (`responders[2]`).
    pub(crate) fn own_path(&self) -> &str {
        &self.path
    }

    /// A field's value; `null` counts as absent, as most senders use the two alike.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub(crate) fn str_opt(&self, key: &str) -> Result<Option<&'a str>, IntakeError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    pub(crate) fn str_req(&self, key: &str) -> Result<&'a str, IntakeError> {
        self.str_opt(key)?.ok_or_else(|| self.missing(key))
    }

    /// A required string that is not just whitespace, trimmed.
    pub(crate) fn text_req(&self, key: &str) -> Result<&'a str, IntakeError> {
        let s = self.str_req(key)?.trim();
        if s.is_empty() {
            return Err(IntakeError::invalid(self.path(key), "must not be blank"));
        }
        Ok(s)
    }

    /// An optional string, trimmed; blank counts as absent.
    pub(crate) fn text_opt(&self, key: &str) -> Result<Option<&'a str>, IntakeError> {
        Ok(self.str_opt(key)?.map(str::trim).filter(|s| !s.is_empty()))
    }

    pub(crate) fn bool_opt(&self, key: &str) -> Result<Option<bool>, IntakeError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(key, "a boolean", other)),
        }
    }

    pub(crate) fn u64_opt(&self, key: &str) -> Result<Option<u64>, IntakeError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| self.wrong_type(key, "a whole number", v)),
        }
    }

    pub(crate) fn obj_opt(&self, key: &str) -> Result<Option<Obj<'a>>, IntakeError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Obj { map, path: self.path(key) })),
            Some(other) => Err(self.wrong_type(key, "an object", other)),
        }
    }

    pub(crate) fn obj_req(&self, key: &str) -> Result<Obj<'a>, IntakeError> {
        self.obj_opt(key)?.ok_or_else(|| self.missing(key))
    }

    pub(crate) fn arr_opt(&self, key: &str) -> Result<Option<Arr<'a>>, IntakeError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(Arr { items, path: self.path(key) })),
            Some(other) => Err(self.wrong_type(key, "an array", other)),
        }
    }

    pub(crate) fn arr_req(&self, key: &str) -> Result<Arr<'a>, IntakeError> {
        self.arr_opt(key)?.ok_or_else(|| self.missing(key))
    }

    /// A `{"k": "v"}` object of strings; absent is empty. A non-string value is named by
    /// its key (`labels.team`).
    pub(crate) fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, IntakeError> {
        let Some(obj) = self.obj_opt(key)? else {
            return Ok(BTreeMap::new());
        };
        // Not `str_req`: a `null` label value is a wrong type here, not a missing field.
        obj.map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(obj.wrong_type(k, "a string", other)),
            })
            .collect()
    }

    /// A required RFC 3339 time.
    pub(crate) fn time_req(&self, key: &str) -> Result<Timestamp, IntakeError> {
        let raw = self.str_req(key)?;
        parse_time(raw).ok_or_else(|| IntakeError::invalid(self.path(key), "not an RFC 3339 time"))
    }

    /// An optional RFC 3339 time; blank counts as absent.
    pub(crate) fn time_opt(&self, key: &str) -> Result<Option<Timestamp>, IntakeError> {
        let Some(raw) = self.text_opt(key)? else {
            return Ok(None);
        };
        parse_time(raw).map(Some).ok_or_else(|| IntakeError::invalid(self.path(key), "not an RFC 3339 time"))
    }

    fn missing(&self, key: &str) -> IntakeError {
        IntakeError::invalid(self.path(key), "is required")
    }

    fn wrong_type(&self, key: &str, wanted: &str, got: &Value) -> IntakeError {
        IntakeError::invalid(self.path(key), format!("must be {wanted}, got {}", kind(got)))
    }
}

impl<'a> Arr<'a> {
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Every item as an object, each knowing its own path (`alerts[3]`).
    pub(crate) fn objects(&self) -> Result<Vec<Obj<'a>>, IntakeError> {
        self.items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("{}[{i}]", self.path);
                match item {
                    Value::Object(map) => Ok(Obj { map, path }),
                    other => Err(IntakeError::invalid(path, format!("must be an object, got {}", kind(other)))),
                }
            })
            .collect()
    }
}

/// RFC 3339 after trimming (some senders pad); `None` when it is not one.
fn parse_time(raw: &str) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(raw.trim())
}

/// How a value's type is named in error reasons.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
