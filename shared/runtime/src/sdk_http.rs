//! The AWS SDK's HTTP client: a reqwest client over the process's one TLS configuration
//! (`warroom_platforms::tls`), instead of the SDK's default hyper/rustls client. The
//! default one loads the system CA store and links a second crypto provider (aws-lc) and
//! a second HTTPS connector; this one adds neither. DynamoDB, SQS and Secrets Manager
//! requests have in-memory bodies, which is all this client sends.

use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use std::sync::OnceLock;
use std::time::Duration;

/// The SDK's own default connect timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

#[derive(Clone, Debug)]
struct ReqwestClient;

#[derive(Clone, Debug)]
struct ReqwestConnector {
    read_timeout: Option<Duration>,
}

/// Built at the first request, not at start; a failure to build is that request's error.
static HTTP: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();

fn http() -> Result<&'static reqwest::Client, ConnectorError> {
    HTTP.get_or_init(|| warroom_platforms::tls::http_client_builder().connect_timeout(CONNECT_TIMEOUT).build().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| ConnectorError::other(format!("could not build the HTTP client: {e}").into(), None))
}

/// The client for `SdkConfig::http_client`.
pub fn http_client() -> SharedHttpClient {
    SharedHttpClient::new(ReqwestClient)
}

impl HttpClient for ReqwestClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, _components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(ReqwestConnector { read_timeout: settings.read_timeout() })
    }
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let connector = self.clone();
        HttpConnectorFuture::new(async move { connector.send(request).await })
    }
}

impl ReqwestConnector {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, ConnectorError> {
        let method = reqwest::Method::from_bytes(request.method().as_bytes()).map_err(|e| ConnectorError::user(e.into()))?;
        let body = request.body().bytes().ok_or_else(|| ConnectorError::user("a streaming request body is not supported by this client".into()))?.to_vec();
        let mut builder = http()?.request(method, request.uri());
        for (name, value) in request.headers() {
            builder = builder.header(name, value);
        }
        if let Some(timeout) = self.read_timeout {
            builder = builder.timeout(timeout);
        }
        let response = builder.body(body).send().await.map_err(transport)?;
        let status = StatusCode::try_from(response.status().as_u16()).map_err(|e| ConnectorError::other(e.into(), None))?;
        let headers: Vec<(String, String)> =
            response.headers().iter().filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str().to_string(), v.to_string()))).collect();
        let bytes = response.bytes().await.map_err(transport)?;
        let mut answer = HttpResponse::new(status, SdkBody::from(bytes));
        for (name, value) in headers {
            answer.headers_mut().append(name, value);
        }
        Ok(answer)
    }
}

/// Timeouts and connection failures are retryable for the SDK; anything else is not.
fn transport(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}
