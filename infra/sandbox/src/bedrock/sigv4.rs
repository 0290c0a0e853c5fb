//! The SigV4 `Authorization` header, checked for presence and shape (not the signature: the
//! sandbox does not hold the caller's secret key).
//!
//! Shape (AWS's "Signature Version 4 signing", docs.aws.amazon.com/IAM/latest/UserGuide/
//! reference_sigv-create-signed-request.html; what `aws-sigv4` 1.6.4 writes):
//!
//! ```text
//! AWS4-HMAC-SHA256 Credential=AKID/20261204/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=<64 hex>
//! ```
//!
//! with `X-Amz-Date: 20261204T101010Z` on the same day as the scope. Bedrock Runtime's signing
//! name is `bedrock` (aws-sdk-bedrockruntime 1.153.0 signs with the service name `bedrock`;
//! IAM actions are `bedrock:…`). The errors are AWS's generic ones (HTTP 403,
//! `MissingAuthenticationTokenException`, `IncompleteSignatureException`,
//! `InvalidSignatureException`); UNCERTAIN: their exact messages on Bedrock's endpoint.

use axum::http::HeaderMap;

/// What a well-formed header said (the access key id is not kept: the recording has no
/// credentials, not even their public half).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Scope {
    /// `20261204/us-east-1/bedrock/aws4_request`.
    pub scope: String,
    pub region: String,
    pub signed_headers: Vec<String>,
}

/// Why a request was refused: the error type (`x-amzn-ErrorType`) and its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthError {
    pub kind: &'static str,
    pub message: String,
}

fn refuse(kind: &'static str, message: impl Into<String>) -> AuthError {
    AuthError { kind, message: message.into() }
}

/// Checks the `Authorization` and `X-Amz-Date` headers.
pub fn check(headers: &HeaderMap) -> Result<Scope, AuthError> {
    let Some(value) = headers.get("authorization") else {
        return Err(refuse("MissingAuthenticationTokenException", "Missing Authentication Token"));
    };
    let value = value.to_str().map_err(|_| refuse("IncompleteSignatureException", "Authorization header is not ASCII"))?;
    let Some(rest) = value.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(refuse("IncompleteSignatureException", "Authorization header requires the AWS4-HMAC-SHA256 algorithm"));
    };
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => return Err(refuse("IncompleteSignatureException", format!("Authorization header has an unexpected part: {part:?}"))),
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(refuse("IncompleteSignatureException", "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'"));
    };
    let parts: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, terminator] = parts[..] else {
        return Err(refuse("IncompleteSignatureException", "Credential must be KEY/DATE/REGION/SERVICE/aws4_request"));
    };
    if key_id.is_empty() || region.is_empty() || terminator != "aws4_request" || date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse("IncompleteSignatureException", "Credential must be KEY/YYYYMMDD/REGION/SERVICE/aws4_request"));
    }
    if service != "bedrock" {
        return Err(refuse("InvalidSignatureException", format!("Credential should be scoped to correct service: 'bedrock', not {service:?}")));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(refuse("IncompleteSignatureException", "Signature must be 64 lower-case hex digits"));
    }
    let signed_headers: Vec<String> = signed.split(';').map(str::to_string).collect();
    if !signed_headers.iter().any(|h| h == "host") || !signed_headers.iter().any(|h| h == "x-amz-date") {
        return Err(refuse("IncompleteSignatureException", "SignedHeaders must include host and x-amz-date"));
    }
    let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok()).unwrap_or("");
    let well_formed_date = amz_date.len() == 16 && amz_date.as_bytes()[8] == b'T' && amz_date.ends_with('Z');
    if !well_formed_date || !amz_date.starts_with(date) {
        return Err(refuse("IncompleteSignatureException", "X-Amz-Date must be YYYYMMDDTHHMMSSZ on the Credential's date"));
    }
    Ok(Scope { scope: format!("{date}/{region}/{service}/{terminator}"), region: region.to_string(), signed_headers })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

    fn headers(auth: Option<String>, date: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert("authorization", a.parse().unwrap());
        }
        h.insert("x-amz-date", date.parse().unwrap());
        h
    }

    fn auth(credential: &str) -> Option<String> {
        Some(format!("AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=content-type;host;x-amz-date, Signature={SIG}"))
    }

    #[test]
    fn a_well_formed_bedrock_signature_gives_its_scope() {
        let s = check(&headers(auth("AKIDEXAMPLE/20261204/eu-west-1/bedrock/aws4_request"), "20261204T101010Z")).unwrap();
        assert_eq!(s.scope, "20261204/eu-west-1/bedrock/aws4_request");
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(s.signed_headers, ["content-type", "host", "x-amz-date"]);
    }

    #[test]
    fn a_missing_malformed_or_misscoped_signature_is_refused_with_aws_error_types() {
        let kind = |h: HeaderMap| check(&h).unwrap_err().kind;
        assert_eq!(kind(headers(None, "20261204T101010Z")), "MissingAuthenticationTokenException");
        assert_eq!(kind(headers(Some("Bearer sk-1".into()), "20261204T101010Z")), "IncompleteSignatureException");
        assert_eq!(kind(headers(auth("AKID/20261204/us-east-1/bedrock"), "20261204T101010Z")), "IncompleteSignatureException");
        assert_eq!(kind(headers(auth("AKID/20261204/us-east-1/s3/aws4_request"), "20261204T101010Z")), "InvalidSignatureException");
        assert_eq!(kind(headers(auth("AKID/20261204/us-east-1/bedrock/aws4_request"), "20261205T000000Z")), "IncompleteSignatureException");
        let short_sig =
            Some(format!("AWS4-HMAC-SHA256 Credential=AKID/20261204/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature={}", &SIG[..10]));
        assert_eq!(kind(headers(short_sig, "20261204T101010Z")), "IncompleteSignatureException");
    }
}
