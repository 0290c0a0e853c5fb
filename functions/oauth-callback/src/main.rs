//! Lambda entry point: wiring only. The routes live in `lib.rs`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    warroom_runtime::init_tracing();
    // EMF on Lambda; nothing is written until the first response's flush.
    warroom_metrics::install();
    let state = warroom_runtime::http_state().await?;
    lambda_http::run(warroom_metrics::http::flushing(oauth_callback::router(state))).await
}
