//! Items as DynamoDB stores them: entities encoded with serde_dynamo plus the table's
//! own attributes, and condition/update expressions with their placeholders.

use super::errors::corrupt;
use crate::keys::{Key, PK, SK};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use warroom_core::{StoreError, StoreResult};

pub(super) type Item = HashMap<String, AttributeValue>;

/// Marks what an item is, for people reading the table (entities carry no type tag).
pub(super) const KIND: &str = "kind";

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The primary key attributes alone: what get/delete calls take.
pub(super) fn key_item(key: &Key) -> Item {
    HashMap::from([(PK.to_owned(), s(&key.pk)), (SK.to_owned(), s(&key.sk))])
}

/// Encodes an entity with serde_dynamo and lays the table's own attributes on top.
pub(super) fn entity_item<T: Serialize>(value: &T, key: &Key, kind: &str) -> StoreResult<Item> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(|e| StoreError::Invalid(format!("{kind} cannot be encoded: {e}")))?;
    item.extend(key_item(key));
    item.insert(KIND.to_owned(), s(kind));
    Ok(item)
}

/// Decodes an entity; the key and bookkeeping attributes are ignored by serde.
pub(super) fn decode<T: DeserializeOwned>(item: Item, what: &str) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(|e| corrupt(what, e))
}

/// A string attribute of a raw item, if present.
pub(super) fn attr_str<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// A number attribute of a raw item; `Corrupt` if present but not an integer.
pub(super) fn attr_i64(item: &Item, name: &str, what: &str) -> StoreResult<Option<i64>> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|e| corrupt(what, format!("{name}={v}: {e}"))),
        Some(other) => Err(corrupt(what, format!("{name} is not a number: {other:?}"))),
    }
}

/// Condition and update expressions with their placeholders. Every attribute name goes
/// through a `#placeholder` so no name can collide with DynamoDB's reserved words.
#[derive(Clone, Debug, Default)]
pub(super) struct Expr {
    condition: Option<String>,
    update: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    /// A condition expression.
    pub(super) fn when(condition: impl Into<String>) -> Self {
        Self { condition: Some(condition.into()), ..Self::default() }
    }
    /// Only "the item does not exist yet".
    pub(super) fn absent() -> Self {
        Self::when("attribute_not_exists(#pk)").name("#pk", PK)
    }
    /// Only "the item exists".
    pub(super) fn present() -> Self {
        Self::when("attribute_exists(#pk)").name("#pk", PK)
    }
    /// Adds an update expression (`SET ...`).
    pub(super) fn set(mut self, update: impl Into<String>) -> Self {
        self.update = Some(update.into());
        self
    }
    pub(super) fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.insert(placeholder.to_owned(), attribute.to_owned());
        self
    }
    pub(super) fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }
    pub(super) fn condition(&self) -> Option<String> {
        self.condition.clone()
    }
    pub(super) fn update(&self) -> Option<String> {
        self.update.clone()
    }
    // DynamoDB rejects empty placeholder maps, so absent ones are sent as `None`.
    pub(super) fn names_opt(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }
    pub(super) fn values_opt(&self) -> Option<Item> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// Parses a raw key attribute the way items carry it.
pub(super) fn key_from_item(item: &Item) -> Option<Key> {
    Some(Key { pk: attr_str(item, PK)?.to_owned(), sk: attr_str(item, SK)?.to_owned() })
}
