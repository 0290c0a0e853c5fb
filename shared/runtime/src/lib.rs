//! What each function's `main.rs` calls before handing its router or handler to the
//! Lambda runtime: tracing, configuration, clients built once per cold start.

use std::sync::Arc;
use warroom_core::{ImError, ImPlatform, ImResult, Integration, Platform, PlatformFactory, SystemClock};
use warroom_engine::{Engine, EngineConfig};
use warroom_http::{AppState, Settings};
use warroom_secrets::SecretBox;
use warroom_sources::SourceRouter;
use warroom_queue::sqs::SqsQueue;
use warroom_store::dynamo::DynamoStore;

/// JSON logs in Lambda (CloudWatch parses them), readable text elsewhere. `RUST_LOG`
/// sets the filter (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        // Lambda adds its own timestamps and colours mean nothing in CloudWatch.
        builder.json().without_time().with_ansi(false).init();
    } else {
        builder.init();
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variable(s): {}", .0.join(", "))]
    Missing(Vec<&'static str>),
    #[error("WARROOM_SECRET_KEY: {0}")]
    SecretKey(String),
}

/// The deployment's configuration, as `template.yaml` sets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Env {
    pub table: String,
    pub queue_url: String,
    pub dlq_url: Option<String>,
    pub public_url: String,
    /// Base64 of the 32-byte key that seals credentials at rest.
    pub secret_key: String,
    /// Emulator or DynamoDB Local endpoint; unset in AWS.
    pub dynamodb_endpoint: Option<String>,
    pub sqs_endpoint: Option<String>,
}

impl Env {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Reads through `get`, naming every missing variable at once.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut missing = Vec::new();
        let mut need = |k: &'static str| {
            get(k).unwrap_or_else(|| {
                missing.push(k);
                String::new()
            })
        };
        let table = need("WARROOM_TABLE");
        let queue_url = need("WARROOM_QUEUE_URL");
        let public_url = need("WARROOM_PUBLIC_URL");
        let secret_key = need("WARROOM_SECRET_KEY");
        if !missing.is_empty() {
            return Err(ConfigError::Missing(missing));
        }
        Ok(Self {
            table,
            queue_url,
            public_url,
            secret_key,
            dlq_url: get("WARROOM_DLQ_URL"),
            dynamodb_endpoint: get("WARROOM_DYNAMODB_ENDPOINT"),
            sqs_endpoint: get("WARROOM_SQS_ENDPOINT"),
        })
    }
}

/// The AWS-backed ports, built once per cold start.
pub struct Aws {
    pub store: Arc<DynamoStore>,
    pub queue: Arc<SqsQueue>,
}

impl Aws {
    pub async fn connect(env: &Env) -> Self {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        let mut dynamo = aws_sdk_dynamodb::config::Builder::from(&sdk);
        if let Some(ep) = &env.dynamodb_endpoint {
            dynamo = dynamo.endpoint_url(ep);
        }
        let mut sqs = aws_sdk_sqs::config::Builder::from(&sdk);
        if let Some(ep) = &env.sqs_endpoint {
            sqs = sqs.endpoint_url(ep);
        }
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(dynamo.build()), env.table.clone());
        let queue = SqsQueue::new(aws_sdk_sqs::Client::from_conf(sqs.build()), env.queue_url.clone(), env.dlq_url.clone());
        Self { store: Arc::new(store), queue: Arc::new(queue) }
    }

    /// The engine over the AWS ports, and the state the HTTP routers share.
    pub fn app_state(&self, env: &Env) -> Result<AppState, ConfigError> {
        let secrets = SecretBox::from_base64(&env.secret_key).map_err(|e| ConfigError::SecretKey(e.to_string()))?;
        let store: Arc<dyn warroom_core::Store> = self.store.clone();
        let sources = SourceRouter::new(Arc::new(warroom_sources::TenantSettings::new(store.clone())), secrets.clone())
            .map_err(|e| ConfigError::SecretKey(e.to_string()))?;
        let engine = Engine {
            store,
            queue: self.queue.clone(),
            platforms: Arc::new(PendingPlatforms),
            sources: Arc::new(sources),
            clock: Arc::new(SystemClock),
            config: EngineConfig { public_url: env.public_url.clone() },
        };
        Ok(AppState::new(engine, secrets, Settings { public_url: env.public_url.clone() }))
    }
}

/// Everything an HTTP function's main needs: configuration read, clients built.
pub async fn http_state() -> Result<AppState, ConfigError> {
    let env = Env::from_env()?;
    Aws::connect(&env).await.app_state(&env)
}

/// Until the IM platform adapters land, every integration answers that its platform is
/// not available in this build: recorded in the timeline, never a silent success.
pub struct PendingPlatforms;

impl PlatformFactory for PendingPlatforms {
    fn for_integration(&self, integration: &Integration) -> ImResult<Arc<dyn ImPlatform>> {
        Err(unavailable(integration))
    }
    fn required_scopes(&self, _platform: Platform) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }
    fn callbacks(&self, integration: &Integration) -> ImResult<Arc<dyn warroom_core::CallbackCodec>> {
        Err(unavailable(integration))
    }
}

fn unavailable(integration: &Integration) -> ImError {
    ImError::Rejected { code: "platform_unavailable".into(), message: format!("the {} platform is not available in this build yet", integration.platform) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_missing_variable_is_named_at_once() {
        let vars: HashMap<&str, &str> = [("WARROOM_QUEUE_URL", "q")].into();
        let err = Env::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap_err();
        assert_eq!(err.to_string(), "missing environment variable(s): WARROOM_TABLE, WARROOM_PUBLIC_URL, WARROOM_SECRET_KEY");
    }

    #[test]
    fn optional_endpoints_are_read_when_present() {
        let vars: HashMap<&str, &str> = [
            ("WARROOM_TABLE", "t"),
            ("WARROOM_QUEUE_URL", "q"),
            ("WARROOM_PUBLIC_URL", "https://x"),
            ("WARROOM_SECRET_KEY", "k"),
            ("WARROOM_SQS_ENDPOINT", "http://127.0.0.1:5000"),
        ]
        .into();
        let env = Env::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(env.sqs_endpoint.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(env.dynamodb_endpoint, None);
    }
}
