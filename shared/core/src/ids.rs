//! Newtype ids, so a member id can never be passed where an incident id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            /// A fresh random id with a readable prefix (`inc_…`, `mem_…`).
            pub fn generate() -> Self {
                Self(format!(concat!($prefix, "_{}"), random_suffix()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

id_type!(
    /// A customer organisation; every stored key of tenant data starts with it.
    TenantId, "ten");
id_type!(
    /// A person of the tenant who may respond to incidents.
    MemberId, "mem");
id_type!(
    /// One installed IM app (a Slack workspace, a Feishu app, ...).
    IntegrationId, "int");
id_type!(
    /// An incident as Warroom knows it (the source has its own id too).
    IncidentId, "inc");
id_type!(
    /// A user id on an IM platform (Slack `U…`, Feishu `ou_…`, ...).
    ImUserId, "imu");
id_type!(
    /// A group chat / channel id on an IM platform.
    ChatId, "chat");
id_type!(
    /// A message id on an IM platform (Slack `ts`, Feishu `om_…`).
    MessageId, "msg");

/// 16 random lowercase base-32 characters (80 bits): unguessable enough for ids,
/// short enough for URLs and chat names.
pub fn random_suffix() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let mut rng = rand::rng();
    (0..16).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_carry_their_prefix_and_differ() {
        let a = IncidentId::generate();
        let b = IncidentId::generate();
        assert!(a.as_str().starts_with("inc_"));
        assert_eq!(a.as_str().len(), 4 + 16);
        assert_ne!(a, b);
    }
}
