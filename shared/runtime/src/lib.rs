//! What each function's `main.rs` calls before handing its router or handler to the
//! Lambda runtime: tracing, configuration, clients built once per cold start.

/// The AWS SDK clients' HTTP client (public for tests that build a client by hand).
pub mod sdk_http;
mod sealing_key;

pub use sealing_key::SealingKeySource;
use std::sync::Arc;
use warroom_core::{Clock, JobQueue, Platform, Store, SystemClock};
use warroom_engine::{Engine, EngineConfig};
use warroom_http::{AppState, Settings};
use warroom_platforms::{Platforms, PlatformsConfig, SlackApp};
use warroom_queue::sqs::SqsQueue;
use warroom_secrets::{Secret, SecretBox};
pub use warroom_sources::OutboundPolicy;
use warroom_sources::SourceRouter;
use warroom_store::dynamo::DynamoStore;

/// JSON logs in Lambda (CloudWatch parses them), readable text elsewhere. `RUST_LOG`
/// sets the filter (default `info`): a level, or `target=level` pairs (`Targets` syntax;
/// EnvFilter's span and regex filters would link a regex engine into every function).
pub fn init_tracing() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = std::env::var("RUST_LOG").ok().and_then(|v| v.parse::<Targets>().ok()).unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let builder = tracing_subscriber::fmt().with_target(false);
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        // Lambda adds its own timestamps and colours mean nothing in CloudWatch.
        builder.json().without_time().with_ansi(false).finish().with(filter).init();
    } else {
        builder.finish().with(filter).init();
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variable(s): {}", .0.join(", "))]
    Missing(Vec<&'static str>),
    /// The sealing key's configuration or text is wrong; the message never quotes the key.
    #[error("sealing key: {0}")]
    SecretKey(String),
    /// Secrets Manager did not hand over the sealing key.
    #[error("sealing key: reading {secret} from Secrets Manager failed: {message}")]
    KeyFetch { secret: String, message: String, retryable: bool },
    #[error("WARROOM_SLACK_CLIENT_ID, WARROOM_SLACK_CLIENT_SECRET and WARROOM_SLACK_SIGNING_SECRET go together: set all three or none (missing: {0})")]
    PartialSlackApp(String),
    #[error("could not build the HTTP client: {0}")]
    Http(String),
    /// The assistant's model settings (`WARROOM_MODEL_*`) are wrong; never quotes the key.
    #[error("assistant model: {0}")]
    Model(String),
    #[error(transparent)]
    Outbound(#[from] warroom_sources::PolicyError),
}

impl ConfigError {
    /// Whether starting again may succeed with the same configuration (only a key fetch
    /// that hit throttling or a transport failure).
    pub fn is_retryable(&self) -> bool {
        matches!(self, ConfigError::KeyFetch { retryable: true, .. })
    }
}

/// The deployment's configuration, as `template.yaml` sets it.
#[derive(Clone, Debug)]
pub struct Env {
    pub table: String,
    pub queue_url: String,
    pub dlq_url: Option<String>,
    pub public_url: String,
    /// Where the key that seals credentials at rest comes from (see `sealing_key`).
    pub sealing_key: SealingKeySource,
    /// Secrets Manager endpoint override (`WARROOM_SECRETSMANAGER_ENDPOINT`, an emulator).
    pub secretsmanager_endpoint: Option<String>,
    /// Emulator or DynamoDB Local endpoint; unset in AWS.
    pub dynamodb_endpoint: Option<String>,
    pub sqs_endpoint: Option<String>,
    /// IM platform settings: the deployment's own Slack app, API base overrides (sandbox).
    pub platforms: PlatformsConfig,
    /// What tenants' URLs may reach beyond public addresses (`WARROOM_OUTBOUND_ALLOW`).
    pub outbound: OutboundPolicy,
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
        let sealing_key = SealingKeySource::from_lookup(&get)?;
        if sealing_key.is_none() {
            missing.push("WARROOM_SECRET_KEY_ARN (or WARROOM_SECRET_KEY)");
        }
        let Some(sealing_key) = sealing_key.filter(|_| missing.is_empty()) else {
            return Err(ConfigError::Missing(missing));
        };
        let platforms = platforms_config(&public_url, &get)?;
        let outbound = OutboundPolicy::parse(&get("WARROOM_OUTBOUND_ALLOW").unwrap_or_default())?;
        Ok(Self {
            platforms,
            outbound,
            table,
            queue_url,
            public_url,
            sealing_key,
            secretsmanager_endpoint: get("WARROOM_SECRETSMANAGER_ENDPOINT"),
            dlq_url: get("WARROOM_DLQ_URL"),
            dynamodb_endpoint: get("WARROOM_DYNAMODB_ENDPOINT"),
            sqs_endpoint: get("WARROOM_SQS_ENDPOINT"),
        })
    }
}

/// `WARROOM_SLACK_CLIENT_ID` / `_CLIENT_SECRET` / `_SIGNING_SECRET`: the deployment's own
/// Slack app (all three, or none). `WARROOM_SLACK_API_URL`, `WARROOM_SLACK_OAUTH_URL`,
/// `WARROOM_{PLATFORM}_BASE_URL` (`WARROOM_FEISHU_BASE_URL`, ...): point the adapters
/// elsewhere (the sandbox).
fn platforms_config(public_url: &str, get: &impl Fn(&str) -> Option<String>) -> Result<PlatformsConfig, ConfigError> {
    let mut config = PlatformsConfig::production(public_url);
    let app = [get("WARROOM_SLACK_CLIENT_ID"), get("WARROOM_SLACK_CLIENT_SECRET"), get("WARROOM_SLACK_SIGNING_SECRET")];
    config.slack_app = match app {
        [Some(client_id), Some(secret), Some(signing)] => {
            Some(SlackApp { client_id, client_secret: Secret::new(secret), signing_secret: Secret::new(signing) })
        }
        [None, None, None] => None,
        partial => {
            let names = ["WARROOM_SLACK_CLIENT_ID", "WARROOM_SLACK_CLIENT_SECRET", "WARROOM_SLACK_SIGNING_SECRET"];
            let missing: Vec<_> = names.iter().zip(&partial).filter(|(_, v)| v.is_none()).map(|(n, _)| *n).collect();
            return Err(ConfigError::PartialSlackApp(missing.join(", ")));
        }
    };
    if let Some(url) = get("WARROOM_SLACK_API_URL") {
        config.slack_api_base = url;
    }
    if let Some(url) = get("WARROOM_SLACK_OAUTH_URL") {
        config.slack_oauth_base = url;
    }
    for platform in Platform::ALL.into_iter().filter(|p| *p != Platform::Slack) {
        if let Some(url) = get(&base_url_var(platform)) {
            config.base_overrides.insert(platform, url);
        }
    }
    Ok(config)
}

/// The variable that replaces a platform's API base (Slack has its own two, above).
pub fn base_url_var(platform: Platform) -> String {
    format!("WARROOM_{}_BASE_URL", platform.as_str().to_ascii_uppercase())
}

/// The AWS-backed ports, built once per cold start.
pub struct Aws {
    pub store: Arc<DynamoStore>,
    pub queue: Arc<SqsQueue>,
    /// Kept for clients built later (Secrets Manager, only when the key lives there).
    sdk: aws_config::SdkConfig,
}

impl Aws {
    pub async fn connect(env: &Env) -> Self {
        // The SDK's HTTP client shares the process's TLS configuration (see `sdk_http`).
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(sdk_http::http_client()).load().await;
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
        Self { store: Arc::new(store), queue: Arc::new(queue), sdk }
    }

    /// The sealing key, from `WARROOM_SECRET_KEY` or fetched from Secrets Manager. Called
    /// once per cold start (by `app_state`, or the admin CLI).
    pub async fn sealing_key(&self, env: &Env) -> Result<SecretBox, ConfigError> {
        sealing_key::load(&env.sealing_key, || {
            let mut config = aws_sdk_secretsmanager::config::Builder::from(&self.sdk);
            if let Some(ep) = &env.secretsmanager_endpoint {
                config = config.endpoint_url(ep);
            }
            aws_sdk_secretsmanager::Client::from_conf(config.build())
        })
        .await
    }

    /// The engine over the AWS ports, and the state the HTTP routers share.
    pub async fn app_state(&self, env: &Env) -> Result<AppState, ConfigError> {
        let secrets = self.sealing_key(env).await?;
        let state = compose(self.store.clone(), self.queue.clone(), Arc::new(SystemClock), secrets, env.platforms.clone(), env.outbound.clone())?;
        let models = warroom_ai::settings_from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty())).map_err(ConfigError::Model)?;
        with_models_under(state, models.as_ref(), &env.outbound)
    }
}

/// Wires the engine and the routers' state over any store and queue: Lambda passes
/// DynamoDB and SQS, the local stack the embedded store and the in-process queue.
pub fn compose(
    store: Arc<dyn Store>,
    queue: Arc<dyn JobQueue>,
    clock: Arc<dyn Clock>,
    secrets: SecretBox,
    platforms: PlatformsConfig,
    outbound: OutboundPolicy,
) -> Result<AppState, ConfigError> {
    let public_url = platforms.public_url.clone();
    tracing::info!(outbound = %outbound.describe(), "status sync may reach");
    let sources = SourceRouter::with_policy(Arc::new(warroom_sources::TenantSettings::new(store.clone())), secrets.clone(), outbound)
        .map_err(|e| ConfigError::Http(e.to_string()))?
        .with_clock(clock.clone());
    let platforms = Arc::new(Platforms::new(platforms, secrets.clone(), store.clone(), clock.clone()).map_err(|e| ConfigError::Http(e.to_string()))?);
    let config = EngineConfig { public_url: public_url.clone() };
    let engine = Engine { store, queue, platforms: platforms.clone(), sources: Arc::new(sources), clock, config, models: None };
    Ok(AppState::new(engine, secrets, Settings { public_url }).with_platforms(platforms))
}

/// [`with_models_under`] with tenants' own models held to public addresses.
pub fn with_models(state: AppState, settings: Option<&warroom_core::ModelSettings>) -> Result<AppState, ConfigError> {
    with_models_under(state, settings, &OutboundPolicy::public_only())
}

/// Gives the engine the deployment's model (`None`: the assistant says how to configure one)
/// and each tenant's own (`PUT /api/v1/settings`, `model`), whose URL `outbound` must allow
/// like a status-sync target's. The clients have a connect timeout but no overall one (a
/// long answer streams for a while), and follow no redirects (the key must not travel
/// elsewhere).
pub fn with_models_under(mut state: AppState, settings: Option<&warroom_core::ModelSettings>, outbound: &OutboundPolicy) -> Result<AppState, ConfigError> {
    let builder =
        || warroom_platforms::tls::http_client_builder().connect_timeout(std::time::Duration::from_secs(10)).redirect(reqwest::redirect::Policy::none());
    let http = builder().build().map_err(|e| ConfigError::Http(e.to_string()))?;
    // Tenants' URLs resolve through the policy: a name pointing inside is refused at connect.
    let tenant_http =
        builder().dns_resolver(Arc::new(warroom_sources::PolicyResolver::new(outbound.clone()))).build().map_err(|e| ConfigError::Http(e.to_string()))?;
    let policy = outbound.clone();
    let check_url: warroom_ai::UrlCheck = Arc::new(move |url: &reqwest::Url| policy.check_url(url).map_err(|e| e.to_string()));
    let secrets = state.secrets.clone();
    let open_key: warroom_ai::KeyOpener = Arc::new(move |tenant: &warroom_core::TenantId, sealed: &warroom_core::SealedCredentials| {
        secrets.open(sealed, &warroom_core::model_key_context(tenant)).map(|s| s.expose().to_string()).map_err(|e| e.to_string())
    });
    let models = warroom_ai::TenantModels::new(settings, http, tenant_http, check_url, open_key).map_err(|e| ConfigError::Model(e.to_string()))?;
    state.engine.models = Some(Arc::new(models));
    Ok(state)
}

/// Everything an HTTP function's main needs: configuration read, clients built.
pub async fn http_state() -> Result<AppState, ConfigError> {
    let env = Env::from_env()?;
    Aws::connect(&env).await.app_state(&env).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_missing_variable_is_named_at_once() {
        let vars: HashMap<&str, &str> = [("WARROOM_QUEUE_URL", "q")].into();
        let err = Env::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap_err();
        assert_eq!(err.to_string(), "missing environment variable(s): WARROOM_TABLE, WARROOM_PUBLIC_URL, WARROOM_SECRET_KEY_ARN (or WARROOM_SECRET_KEY)");
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
        assert!(env.platforms.slack_app.is_none());
    }

    #[test]
    fn a_half_configured_slack_app_is_refused_naming_what_is_missing() {
        let vars: HashMap<&str, &str> = [
            ("WARROOM_TABLE", "t"),
            ("WARROOM_QUEUE_URL", "q"),
            ("WARROOM_PUBLIC_URL", "https://x"),
            ("WARROOM_SECRET_KEY", "k"),
            ("WARROOM_SLACK_CLIENT_ID", "123.456"),
        ]
        .into();
        let err = Env::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap_err();
        assert!(err.to_string().contains("WARROOM_SLACK_CLIENT_SECRET, WARROOM_SLACK_SIGNING_SECRET"), "{err}");
    }

    #[test]
    fn the_outbound_policy_is_public_only_by_default_and_a_bad_entry_stops_the_start() {
        let mut vars: HashMap<&str, &str> =
            [("WARROOM_TABLE", "t"), ("WARROOM_QUEUE_URL", "q"), ("WARROOM_PUBLIC_URL", "https://x"), ("WARROOM_SECRET_KEY", "k")].into();
        let env = Env::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(env.outbound, OutboundPolicy::public_only());
        vars.insert("WARROOM_OUTBOUND_ALLOW", "10.0.0.0/8, am.internal");
        let env = Env::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
        assert!(env.outbound.check("10.1.2.3".parse().unwrap()).is_ok());
        vars.insert("WARROOM_OUTBOUND_ALLOW", "10.0.0.0/8, 10.0.0.0/40");
        let err = Env::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap_err();
        assert!(err.to_string().contains("\"10.0.0.0/40\""), "{err}");
    }
}
