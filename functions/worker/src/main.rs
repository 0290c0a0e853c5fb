//! Lambda entry point: wiring only. The batch handling lives in `lib.rs`.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    warroom_runtime::init_tracing();
    // EMF on Lambda; nothing is written until the first batch's flush.
    warroom_metrics::install();
    let env = warroom_runtime::Env::from_env()?;
    let aws = warroom_runtime::Aws::connect(&env).await;
    let engine = aws.app_state(&env).await?.engine;
    let queue = aws.queue.clone();
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (queue, engine) = (queue.clone(), &engine);
        async move {
            let response = worker::handle_event(event.payload, queue.as_ref(), engine).await;
            // One invocation, one flush: the batch's job counts and times as EMF lines.
            warroom_metrics::flush();
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
