//! The Store conformance suite against DynamoDB: the emulator `infra/test.sh` starts
//! (moto), or any endpoint in `WARROOM_DYNAMODB_ENDPOINT`. Each test gets its own table.

use std::sync::Arc;
use warroom_core::Store;
use warroom_store::dynamo::DynamoStore;
use warroom_testkit::{aws, store_conformance};

async fn fresh() -> Arc<dyn Store> {
    let client = aws::dynamodb_client();
    let table = aws::unique_name("warroom-test");
    DynamoStore::create_table(&client, &table).await.expect("create test table");
    Arc::new(DynamoStore::new(client, table))
}

store_conformance!(fresh(), ignore = "needs the DynamoDB emulator: run ./infra/test.sh");
