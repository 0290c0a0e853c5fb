//! Listing every tenant: a filtered `Scan` of the whole table. Tenants have no index of
//! their own (nothing on a request path needs "all tenants"); the one caller is the admin
//! re-seal after a key rotation, which runs rarely and reads the table anyway.

use super::codec::{decode, s, Expr};
use super::errors::sdk_error;
use super::DynamoStore;
use crate::keys::{PK, SK};
use warroom_core::{StoreResult, Tenant};

pub(super) async fn list_tenants(store: &DynamoStore) -> StoreResult<Vec<Tenant>> {
    // The tenant record is the only item with SK = TENANT under a `T#` partition.
    let filter = Expr::default().name("#pk", PK).name("#sk", SK).value(":tenant_sk", s("TENANT")).value(":tenant_pk", s("T#"));
    let mut tenants: Vec<Tenant> = Vec::new();
    let mut start = None;
    loop {
        let out = store
            .client
            .scan()
            .table_name(&store.table)
            .filter_expression("#sk = :tenant_sk AND begins_with(#pk, :tenant_pk)")
            .set_expression_attribute_names(filter.names_opt())
            .set_expression_attribute_values(filter.values_opt())
            // A re-seal must see every tenant written before it started.
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("Scan", e))?;
        for item in out.items.unwrap_or_default() {
            tenants.push(decode(item, "tenant")?);
        }
        match out.last_evaluated_key {
            Some(next) if !next.is_empty() => start = Some(next),
            _ => break,
        }
    }
    tenants.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(tenants)
}
