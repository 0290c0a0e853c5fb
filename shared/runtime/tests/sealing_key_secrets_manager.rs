//! The sealing key read from Secrets Manager (moto, the same server as the DynamoDB/SQS
//! emulator): the function's cold start builds its `SecretBox` from the secret, in the
//! format the SAM template generates and in the rotation JSON.

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use std::collections::HashMap;
use warroom_runtime::{Aws, ConfigError, Env};
use warroom_secrets::{KeyUsed, SecretBox};

/// moto serves every service on one endpoint; the test script exports it under this name.
fn endpoint() -> String {
    std::env::var("WARROOM_DYNAMODB_ENDPOINT").expect("WARROOM_DYNAMODB_ENDPOINT is not set: run the suite with ./infra/test.sh, which starts the emulator")
}

fn client() -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(endpoint())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", warroom_core::ids::random_suffix())
}

/// The environment a function gets from the template, pointed at the emulator.
fn env_for(secret: &str) -> Env {
    let vars: HashMap<&str, String> = [
        ("WARROOM_TABLE", "unused".to_owned()),
        ("WARROOM_QUEUE_URL", "unused".to_owned()),
        ("WARROOM_PUBLIC_URL", "https://warroom.example.com".to_owned()),
        ("WARROOM_SECRET_KEY_ARN", secret.to_owned()),
        ("WARROOM_SECRETSMANAGER_ENDPOINT", endpoint()),
        ("WARROOM_DYNAMODB_ENDPOINT", endpoint()),
        ("WARROOM_SQS_ENDPOINT", endpoint()),
    ]
    .into();
    Env::from_lookup(|k| vars.get(k).cloned()).unwrap()
}

async fn create_secret(value: &str) -> String {
    let out = client().create_secret().name(unique("warroom-sealing-key")).secret_string(value).send().await.unwrap();
    out.arn().unwrap().to_owned()
}

#[tokio::test]
#[ignore = "needs the DynamoDB/SQS emulator (moto)"]
async fn a_generated_secret_like_the_templates_becomes_the_functions_sealing_key() {
    // What GenerateSecretString makes with the template's settings.
    let generated = client().get_random_password().password_length(64).exclude_punctuation(true).include_space(false).send().await.unwrap();
    let password = generated.random_password().unwrap().to_owned();
    let arn = create_secret(&format!(r#"{{"current":"{password}"}}"#)).await;

    let env = env_for(&arn);
    let secrets = Aws::connect(&env).await.sealing_key(&env).await.unwrap();
    let expected = SecretBox::from_key_text(&password).unwrap();
    assert!(!secrets.has_previous_key());
    assert_eq!(expected.open(&secrets.seal("xoxb-1", "c"), "c").unwrap().expose(), "xoxb-1", "the box must use the secret's key");
}

#[tokio::test]
#[ignore = "needs the DynamoDB/SQS emulator (moto)"]
async fn a_rotation_secret_gives_a_box_that_seals_with_current_and_opens_previous() {
    let (old, new) = (SecretBox::generate_key(), SecretBox::generate_key());
    let arn = create_secret(&format!(r#"{{"current":"{new}","previous":"{old}"}}"#)).await;
    let env = env_for(&arn);
    let secrets = Aws::connect(&env).await.sealing_key(&env).await.unwrap();

    let sealed_before = SecretBox::from_base64(&old).unwrap().seal("pd-token", "tenant:t1:sync");
    assert_eq!(secrets.open_reporting_key(&sealed_before, "tenant:t1:sync").unwrap().1, KeyUsed::Previous);
    let sealed_now = secrets.seal("pd-token", "tenant:t1:sync");
    assert_eq!(SecretBox::from_base64(&new).unwrap().open(&sealed_now, "tenant:t1:sync").unwrap().expose(), "pd-token");
}

#[tokio::test]
#[ignore = "needs the DynamoDB/SQS emulator (moto)"]
async fn a_missing_secret_stops_the_start_naming_the_secret_and_is_not_retryable() {
    let arn = format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{}", unique("absent"));
    let env = env_for(&arn);
    let err = Aws::connect(&env).await.sealing_key(&env).await.unwrap_err();
    assert!(matches!(err, ConfigError::KeyFetch { .. }), "{err:?}");
    assert!(err.to_string().contains(&arn) && err.to_string().contains("ResourceNotFound"), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
#[ignore = "needs the DynamoDB/SQS emulator (moto)"]
async fn a_secret_that_is_not_a_key_is_refused_without_quoting_it() {
    let arn = create_secret("hunter2-not-a-key").await;
    let env = env_for(&arn);
    let err = Aws::connect(&env).await.sealing_key(&env).await.unwrap_err();
    assert!(matches!(err, ConfigError::SecretKey(_)), "{err:?}");
    assert!(err.to_string().contains(&arn) && !err.to_string().contains("hunter2"), "{err}");
}
