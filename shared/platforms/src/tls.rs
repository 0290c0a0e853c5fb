//! The one TLS client configuration of a process, shared by every HTTP client it builds
//! (the IM platforms', the status-sync sources', and the AWS SDK's, see `warroom-runtime`).
//!
//! Trust roots are Mozilla's, compiled in (`webpki-roots`): they are already parsed trust
//! anchors, so a cold start reads no file and parses no certificate. Loading the system
//! store instead (`rustls-native-certs`, what reqwest's platform verifier and the SDK's
//! default client do) opened every file under `/etc/ssl/certs` once per client, three
//! times per start. A deployment that must trust a private CA (a tenant's Alertmanager
//! behind its own CA) names a PEM bundle in `SSL_CERT_FILE`; its certificates are added,
//! read once. The crypto provider is `ring`, the only one linked into the functions.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::sync::{Arc, OnceLock};

static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();

/// Built on first use, then shared.
pub fn client_config() -> Arc<rustls::ClientConfig> {
    CONFIG.get_or_init(|| Arc::new(build())).clone()
}

/// A reqwest builder over the shared configuration; callers add their timeouts.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(rustls::ClientConfig::clone(&client_config()))
}

fn build() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = std::env::var_os("SSL_CERT_FILE") {
        match CertificateDer::pem_file_iter(&path) {
            Ok(certs) => {
                let (added, ignored) = roots.add_parsable_certificates(certs.filter_map(Result::ok));
                tracing::info!(file = %path.to_string_lossy(), added, ignored, "extra TLS roots from SSL_CERT_FILE");
            }
            Err(e) => tracing::warn!(file = %path.to_string_lossy(), error = %e, "SSL_CERT_FILE could not be read; using the built-in roots only"),
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // ring supports every safe default version: this cannot fail.
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_is_built_once_and_trusts_the_compiled_in_roots() {
        let (a, b) = (client_config(), client_config());
        assert!(Arc::ptr_eq(&a, &b));
        assert!(http_client_builder().build().is_ok());
    }
}
