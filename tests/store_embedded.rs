//! The Store conformance suite against the embedded single-file store (redb).

use std::sync::Arc;
use warroom_core::Store;
use warroom_store::embedded::EmbeddedStore;
use warroom_testkit::store_conformance;

async fn fresh() -> Arc<dyn Store> {
    Arc::new(EmbeddedStore::open_temporary().expect("temporary embedded store"))
}

store_conformance!(fresh());
