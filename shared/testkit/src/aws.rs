//! Clients for the AWS emulator the test script starts (moto), or any endpoint given.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};

/// The emulator endpoint for a service, from the environment the test script sets.
/// Panics with an actionable message: emulator tests are `#[ignore]`d and only run by
/// `infra/test.sh`, which always sets these.
pub fn endpoint(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run the suite with ./infra/test.sh, which starts the emulator"))
}

pub fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(endpoint("WARROOM_DYNAMODB_ENDPOINT"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

pub fn sqs_client() -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::config::Builder::new()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(endpoint("WARROOM_SQS_ENDPOINT"))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// A name no other test uses, so tests can share one emulator.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", warroom_core::ids::random_suffix())
}
