//! Lambda entry point: wiring only. The routes live in `lib.rs`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    warroom_runtime::init_tracing();
    let state = warroom_runtime::http_state().await?;
    lambda_http::run(incident_intake::router(state)).await
}
