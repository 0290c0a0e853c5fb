//! The key that seals credentials at rest, read once per cold start.
//!
//! In AWS it lives in Secrets Manager (`WARROOM_SECRET_KEY_ARN`), not in the functions'
//! environment, where anyone allowed to read a function's configuration would see it.
//! Secrets Manager rather than an SSM SecureString because CloudFormation can create a
//! secret with a generated random value (`GenerateSecretString`), so a deployment gets a
//! key no person ever typed or saw, while `AWS::SSM::Parameter` cannot create SecureString
//! parameters at all; a secret also keeps its earlier version (`AWSPREVIOUS`), a way back
//! from a botched rotation, and IAM can grant reading that one secret only.
//!
//! `WARROOM_SECRET_KEY` (the key text itself) stays for the local stack, tests and anyone
//! who manages the environment their own way. Either holds any key text
//! `warroom_secrets::keys` accepts, including `{"current": …, "previous": …}` during a
//! rotation (docs/key-rotation.md).
//!
//! The fetch happens only in `Aws::app_state`, which every main calls once before handing
//! control to the Lambda runtime: warm invocations never call Secrets Manager. The SDK's
//! standard retries (3 attempts with backoff) cover a throttled or flaky first call.

use crate::ConfigError;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use std::fmt;
use warroom_secrets::{Secret, SecretBox};

/// Where the sealing key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum SealingKeySource {
    /// `WARROOM_SECRET_KEY`: the key text itself.
    Plain(Secret),
    /// `WARROOM_SECRET_KEY_ARN`: a Secrets Manager secret (ARN or name) holding the key text.
    SecretsManager(String),
}

impl fmt::Debug for SealingKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain(_) => f.write_str("Plain([redacted])"),
            Self::SecretsManager(id) => f.debug_tuple("SecretsManager").field(id).finish(),
        }
    }
}

impl SealingKeySource {
    /// Reads the two variables; `None` if neither is set (the caller names it as missing).
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        match (get("WARROOM_SECRET_KEY"), get("WARROOM_SECRET_KEY_ARN")) {
            // Two sources could disagree; picking one silently could seal under the wrong key.
            (Some(_), Some(_)) => Err(ConfigError::SecretKey(
                "both WARROOM_SECRET_KEY and WARROOM_SECRET_KEY_ARN are set: set WARROOM_SECRET_KEY_ARN (a Secrets Manager secret, as the SAM template does) or WARROOM_SECRET_KEY (the key itself), not both".into(),
            )),
            (Some(text), None) => Ok(Some(Self::Plain(Secret::new(text)))),
            (None, Some(id)) => Ok(Some(Self::SecretsManager(id))),
            (None, None) => Ok(None),
        }
    }

    /// Where the key came from, for messages (never the key).
    pub fn describe(&self) -> String {
        match self {
            Self::Plain(_) => "WARROOM_SECRET_KEY".into(),
            Self::SecretsManager(id) => format!("the Secrets Manager secret {id} (WARROOM_SECRET_KEY_ARN)"),
        }
    }
}

/// Builds the box from the source, fetching the secret if that is where the key lives.
pub async fn load(source: &SealingKeySource, client: impl FnOnce() -> aws_sdk_secretsmanager::Client) -> Result<SecretBox, ConfigError> {
    let text = match source {
        SealingKeySource::Plain(text) => text.clone(),
        SealingKeySource::SecretsManager(id) => fetch(&client(), id).await?,
    };
    let secrets = SecretBox::from_key_text(text.expose()).map_err(|e| ConfigError::SecretKey(format!("{}: {e}", source.describe())))?;
    tracing::info!(source = %source.describe(), previous_key = secrets.has_previous_key(), "sealing key loaded");
    Ok(secrets)
}

/// The secret's current value (`AWSCURRENT`).
pub async fn fetch(client: &aws_sdk_secretsmanager::Client, id: &str) -> Result<Secret, ConfigError> {
    let out = client.get_secret_value().secret_id(id).send().await.map_err(|e| fetch_error(id, e))?;
    match out.secret_string() {
        Some(text) => Ok(Secret::new(text)),
        None => Err(ConfigError::KeyFetch {
            secret: id.to_owned(),
            message: "the secret has no SecretString (a binary secret): store the key as text".into(),
            retryable: false,
        }),
    }
}

fn fetch_error<R: fmt::Debug>(id: &str, e: SdkError<GetSecretValueError, R>) -> ConfigError {
    let code = e.code().map(str::to_owned);
    // Transport failures, throttling and AWS's own faults may pass; a missing secret, a
    // role without permission or a key KMS refuses will not until someone changes them.
    let retryable = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(s) => {
            matches!(s.err(), GetSecretValueError::InternalServiceError(_)) || matches!(code.as_deref(), Some("ThrottlingException" | "ServiceUnavailable"))
        }
        _ => false,
    };
    let hint = match code.as_deref() {
        Some("AccessDeniedException") => {
            " (the function's role needs secretsmanager:GetSecretValue on this secret, and kms:Decrypt if it is encrypted with your own KMS key)"
        }
        Some("ResourceNotFoundException") => " (check WARROOM_SECRET_KEY_ARN: the secret must exist in the function's region)",
        Some("DecryptionFailure") => " (KMS refused to decrypt it: grant kms:Decrypt on the secret's KMS key)",
        _ => "",
    };
    // The SDK's error says what failed (code, message, cause); it never holds the value.
    let message = match (&code, e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}{hint}"),
        _ => format!("{}{hint}", DisplayErrorContext(&e)),
    };
    ConfigError::KeyFetch { secret: id.to_owned(), message, retryable }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| vars.get(k).cloned()
    }

    #[test]
    fn the_secret_arn_or_the_plain_key_is_the_source_and_both_at_once_is_refused() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:warroom-AbCdEf";
        assert_eq!(SealingKeySource::from_lookup(&lookup(&[("WARROOM_SECRET_KEY_ARN", arn)])), Ok(Some(SealingKeySource::SecretsManager(arn.into()))));
        let plain = SealingKeySource::from_lookup(&lookup(&[("WARROOM_SECRET_KEY", "k")])).unwrap();
        assert_eq!(plain, Some(SealingKeySource::Plain(Secret::new("k"))));
        assert_eq!(SealingKeySource::from_lookup(&lookup(&[])), Ok(None));
        let both = SealingKeySource::from_lookup(&lookup(&[("WARROOM_SECRET_KEY", "hunter2-key"), ("WARROOM_SECRET_KEY_ARN", arn)])).unwrap_err();
        assert!(both.to_string().contains("not both") && !both.to_string().contains("hunter2"), "{both}");
    }

    #[test]
    fn a_plain_key_never_shows_in_debug_output() {
        let shown = format!("{:?}", SealingKeySource::Plain(Secret::new("hunter2-key")));
        assert_eq!(shown, "Plain([redacted])");
    }

    #[tokio::test]
    async fn a_bad_plain_key_names_its_source_but_not_its_value() {
        let source = SealingKeySource::Plain(Secret::new("hunter2-key"));
        let err = load(&source, || unreachable!("a plain key needs no client")).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("WARROOM_SECRET_KEY") && !text.contains("hunter2"), "{text}");
        assert!(!err.is_retryable());
    }
}
