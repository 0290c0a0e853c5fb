//! The few DynamoDB calls every entity goes through: get, put, update, delete, query
//! and transactions. Entity modules stay free of SDK plumbing.

use super::codec::{decode, key_item, s, Expr, Item};
use super::errors::{build_error, is_condition_failure, sdk_error};
use super::DynamoStore;
use crate::keys::{Key, PK, SK};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, Select, TransactWriteItem, Update};
use serde::de::DeserializeOwned;
use std::time::Duration;
use warroom_core::{StoreError, StoreResult};

/// DynamoDB's cap on the actions of one transaction.
const MAX_TRANSACTION: usize = 100;

/// What a conditional single-item write did.
pub(super) enum Written<T> {
    Done(T),
    /// The condition did not hold; nothing was written. Holds the item as it was, when
    /// DynamoDB returned it.
    ConditionFailed(Option<Item>),
}

/// What a transaction did.
pub(super) enum Tx {
    Committed,
    /// A condition did not hold: one cancellation code per action, in request order
    /// (`"None"` for actions that were fine).
    ConditionFailed(Vec<String>),
}

impl Tx {
    /// True if the action at `index` is the one whose condition failed.
    pub(super) fn failed_at(codes: &[String], index: usize) -> bool {
        codes.get(index).is_some_and(|c| c == "ConditionalCheckFailed")
    }
}

/// One page of a query.
pub(super) struct Query<'a> {
    pub index: Option<&'a str>,
    pub pk_attr: &'a str,
    pub pk: String,
    /// Only sort keys with this prefix (base table only: the sort key is `SK`).
    pub sk_prefix: Option<&'a str>,
    pub forward: bool,
    pub limit: Option<i32>,
    pub start: Option<Item>,
}

impl DynamoStore {
    /// Strongly consistent read: callers often read what they just wrote.
    pub(super) async fn get_item(&self, key: &Key) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item)
    }

    pub(super) async fn get<T: DeserializeOwned>(&self, key: &Key, what: &str) -> StoreResult<Option<T>> {
        self.get_item(key).await?.map(|item| decode(item, what)).transpose()
    }

    pub(super) async fn put_item(&self, item: Item, cond: Option<Expr>) -> StoreResult<Written<()>> {
        let cond = cond.unwrap_or_default();
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(cond.condition())
            .set_expression_attribute_names(cond.names_opt())
            .set_expression_attribute_values(cond.values_opt())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Written::Done(())),
            Err(e) if is_condition_failure(&e) => {
                let old = match e.into_service_error() {
                    PutItemError::ConditionalCheckFailedException(c) => c.item,
                    _ => None,
                };
                Ok(Written::ConditionFailed(old))
            }
            Err(e) => Err(sdk_error("PutItem", e)),
        }
    }

    /// A put that must succeed (no condition).
    pub(super) async fn put(&self, item: Item) -> StoreResult<()> {
        match self.put_item(item, None).await? {
            Written::Done(()) => Ok(()),
            Written::ConditionFailed(_) => Err(unexpected("PutItem")),
        }
    }

    pub(super) async fn update_item(&self, key: &Key, expr: Expr) -> StoreResult<Written<()>> {
        Ok(match self.update_item_returning(key, expr).await? {
            Written::Done(_) => Written::Done(()),
            Written::ConditionFailed(old) => Written::ConditionFailed(old),
        })
    }

    /// Like `update_item`, returning the updated attributes.
    pub(super) async fn update_item_returning(&self, key: &Key, expr: Expr) -> StoreResult<Written<Item>> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .set_update_expression(expr.update())
            .set_condition_expression(expr.condition())
            .set_expression_attribute_names(expr.names_opt())
            .set_expression_attribute_values(expr.values_opt())
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Written::Done(out.attributes.unwrap_or_default())),
            Err(e) if is_condition_failure(&e) => Ok(Written::ConditionFailed(None)),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    /// Deletes and returns the item as it was (`None` if there was none).
    pub(super) async fn delete_item(&self, key: &Key, cond: Option<Expr>) -> StoreResult<Written<Option<Item>>> {
        let cond = cond.unwrap_or_default();
        let sent = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .set_condition_expression(cond.condition())
            .set_expression_attribute_names(cond.names_opt())
            .set_expression_attribute_values(cond.values_opt())
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Written::Done(out.attributes)),
            Err(e) if is_condition_failure(&e) => Ok(Written::ConditionFailed(None)),
            Err(e) => Err(sdk_error("DeleteItem", e)),
        }
    }

    /// One page: the items and, if there may be more, where the next page starts.
    pub(super) async fn query_page(&self, q: &Query<'_>) -> StoreResult<(Vec<Item>, Option<Item>)> {
        let mut condition = "#pk = :pk".to_owned();
        let mut expr = Expr::default().name("#pk", q.pk_attr).value(":pk", s(&q.pk));
        if let Some(prefix) = q.sk_prefix {
            condition.push_str(" AND begins_with(#sk, :prefix)");
            expr = expr.name("#sk", SK).value(":prefix", s(prefix));
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(q.index.map(str::to_owned))
            .key_condition_expression(condition)
            .set_expression_attribute_names(expr.names_opt())
            .set_expression_attribute_values(expr.values_opt())
            .scan_index_forward(q.forward)
            // Global secondary indexes only support eventually consistent reads.
            .consistent_read(q.index.is_none())
            .select(Select::AllAttributes)
            .set_limit(q.limit)
            .set_exclusive_start_key(q.start.clone())
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// Every item of a partition (optionally under a sort-key prefix), following pages.
    pub(super) async fn query_all(&self, pk: String, sk_prefix: &str) -> StoreResult<Vec<Item>> {
        let mut q = Query { index: None, pk_attr: PK, pk, sk_prefix: Some(sk_prefix), forward: true, limit: None, start: None };
        let mut items = Vec::new();
        loop {
            let (page, next) = self.query_page(&q).await?;
            items.extend(page);
            match next {
                Some(start) => q.start = Some(start),
                None => return Ok(items),
            }
        }
    }

    pub(super) async fn query_all_as<T: DeserializeOwned>(&self, pk: String, sk_prefix: &str, what: &str) -> StoreResult<Vec<T>> {
        self.query_all(pk, sk_prefix).await?.into_iter().map(|item| decode(item, what)).collect()
    }

    pub(super) fn tx_put(&self, item: Item, cond: Option<Expr>) -> StoreResult<TransactWriteItem> {
        let cond = cond.unwrap_or_default();
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(cond.condition())
            .set_expression_attribute_names(cond.names_opt())
            .set_expression_attribute_values(cond.values_opt())
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(super) fn tx_delete(&self, key: &Key, cond: Option<Expr>) -> StoreResult<TransactWriteItem> {
        let cond = cond.unwrap_or_default();
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .set_condition_expression(cond.condition())
            .set_expression_attribute_names(cond.names_opt())
            .set_expression_attribute_values(cond.values_opt())
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    pub(super) fn tx_update(&self, key: &Key, expr: Expr) -> StoreResult<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .set_update_expression(expr.update())
            .set_condition_expression(expr.condition())
            .set_expression_attribute_names(expr.names_opt())
            .set_expression_attribute_values(expr.values_opt())
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Runs the actions all-or-nothing. A cancellation caused only by contention (another
    /// transaction on the same items) wrote nothing and is retried here a few times,
    /// so callers only see the cancellations their own conditions caused.
    pub(super) async fn transact(&self, actions: Vec<TransactWriteItem>) -> StoreResult<Tx> {
        const ATTEMPTS: u32 = 6;
        for attempt in 1..=ATTEMPTS {
            let sent = self.client.transact_write_items().set_transact_items(Some(actions.clone())).send().await;
            let err = match sent {
                Ok(_) => return Ok(Tx::Committed),
                Err(err) => err,
            };
            let codes = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    cancelled.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None").to_owned()).collect::<Vec<_>>()
                }
                _ => return Err(sdk_error("TransactWriteItems", err)),
            };
            if codes.iter().any(|c| c == "ConditionalCheckFailed") {
                return Ok(Tx::ConditionFailed(codes));
            }
            if let Some(refused) = codes.iter().find(|c| !TRANSIENT_CANCELLATIONS.contains(&c.as_str())) {
                return Err(refused_transaction(refused, &codes));
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            return Err(StoreError::Unavailable {
                message: format!("dynamodb TransactWriteItems: cancelled {ATTEMPTS} times: {}", codes.join(", ")),
                retryable: true,
            });
        }
        Err(unexpected("TransactWriteItems"))
    }

    /// Unconditional deletes, any number of them, in transactions of the largest size
    /// DynamoDB takes. Each chunk is atomic; the whole is idempotent, so a failure
    /// part-way is repaired by calling again.
    pub(super) async fn delete_all(&self, keys: Vec<Key>) -> StoreResult<()> {
        for chunk in keys.chunks(MAX_TRANSACTION) {
            let actions = chunk.iter().map(|k| self.tx_delete(k, None)).collect::<StoreResult<Vec<_>>>()?;
            match self.transact(actions).await? {
                Tx::Committed => {}
                Tx::ConditionFailed(_) => return Err(unexpected("TransactWriteItems")),
            }
        }
        Ok(())
    }
}

/// Cancellation codes that mean "nothing wrong with the request, try again": contention
/// and throttling ("None" marks the actions that were fine).
const TRANSIENT_CANCELLATIONS: &[&str] = &["None", "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"];

/// A transaction refused for what it asked (an item too large, a bad expression).
fn refused_transaction(code: &str, codes: &[String]) -> StoreError {
    let message = format!("dynamodb TransactWriteItems refused: {}", codes.join(", "));
    if code == "ValidationError" {
        StoreError::Invalid(message)
    } else {
        StoreError::Unavailable { message, retryable: false }
    }
}

/// Sleeps grow with each attempt and are spread out so contenders do not retry in step.
pub(super) fn backoff(attempt: u32) -> Duration {
    let jitter = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos() % 20).unwrap_or(0);
    Duration::from_millis(10 * u64::from(attempt.min(6)) + u64::from(jitter))
}

/// A write without a condition reported a failed condition: DynamoDB broke its contract.
fn unexpected(op: &str) -> StoreError {
    StoreError::Unavailable { message: format!("dynamodb {op}: unexpected condition failure"), retryable: true }
}
