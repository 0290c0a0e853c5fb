//! Lambda entry point: wiring only. The batch handling lives in `lib.rs`.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    warroom_runtime::init_tracing();
    let env = warroom_runtime::Env::from_env()?;
    let aws = warroom_runtime::Aws::connect(&env).await;
    let queue = aws.queue.clone();
    let handler = worker::PendingEngine;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let (queue, handler) = (queue.clone(), &handler);
        async move { Ok::<_, lambda_runtime::Error>(worker::handle_event(event.payload, queue.as_ref(), handler).await) }
    }))
    .await
}
