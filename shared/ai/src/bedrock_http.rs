//! The SDK's HTTP client for Bedrock: the caller's reqwest client (built over the process's
//! one TLS configuration, like every other client here), with the response body *streamed*
//! into the SDK. `warroom_runtime::sdk_http` does the same for DynamoDB, SQS and Secrets
//! Manager but reads whole bodies, which would hold a ConverseStream answer back until the
//! model finished; and this crate cannot use it (warroom-runtime depends on warroom-ai).

use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// The client for the SDK's config (`http_client`).
pub(crate) fn http_client(http: reqwest::Client) -> SharedHttpClient {
    SharedHttpClient::new(Streaming { http })
}

#[derive(Clone, Debug)]
struct Streaming {
    http: reqwest::Client,
}

impl HttpClient for Streaming {
    // The SDK's read timeout is not applied: reqwest's `timeout` would bound the whole answer.
    // The adapter bounds silence instead (first byte, then between events).
    fn http_connector(&self, _settings: &HttpConnectorSettings, _components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for Streaming {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let http = self.http.clone();
        HttpConnectorFuture::new(async move { send(&http, request).await })
    }
}

async fn send(http: &reqwest::Client, request: HttpRequest) -> Result<HttpResponse, ConnectorError> {
    let method = reqwest::Method::from_bytes(request.method().as_bytes()).map_err(|e| ConnectorError::user(e.into()))?;
    // ConverseStream's request is one JSON document, in memory.
    let body = request.body().bytes().ok_or_else(|| ConnectorError::user("a streaming request body is not supported by this client".into()))?.to_vec();
    let mut builder = http.request(method, request.uri());
    for (name, value) in request.headers() {
        builder = builder.header(name, value);
    }
    let response = builder.body(body).send().await.map_err(transport)?;
    let status = StatusCode::try_from(response.status().as_u16()).map_err(|e| ConnectorError::other(e.into(), None))?;
    let headers: Vec<(String, String)> =
        response.headers().iter().filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str().to_string(), v.to_string()))).collect();
    let mut answer = HttpResponse::new(status, SdkBody::from_body_1_x(reqwest::Body::from(response)));
    for (name, value) in headers {
        answer.headers_mut().append(name, value);
    }
    Ok(answer)
}

/// reqwest's message would include the URL; `without_url` drops it (no query is ever there
/// for Bedrock, but the rule is the same everywhere).
fn transport(e: reqwest::Error) -> ConnectorError {
    let timeout = e.is_timeout();
    let io = e.is_connect() || e.is_request() || e.is_body();
    let e = e.without_url();
    if timeout {
        ConnectorError::timeout(e.into())
    } else if io {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}
