//! The platforms this build supports: one line each. Everything platform-specific the rest
//! of the bundle needs goes through the [`PlatformModule`] a line registers.

use crate::module::PlatformModule;
use std::sync::Arc;

pub fn modules() -> Vec<Arc<dyn PlatformModule>> {
    vec![
        Arc::new(crate::slack::SlackModule),
        Arc::new(crate::feishu::FeishuModule),
        Arc::new(crate::dingtalk::DingTalkModule),
        Arc::new(crate::wecom::WeComModule),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn each_platform_is_registered_once_and_its_fields_are_its_own() {
        let modules = modules();
        let platforms: BTreeSet<_> = modules.iter().map(|m| m.platform()).collect();
        assert_eq!(platforms.len(), modules.len(), "one module per platform");
        for m in &modules {
            let names: BTreeSet<_> = m.fields().iter().map(|f| f.name).collect();
            assert_eq!(names.len(), m.fields().len(), "{}: a field declared twice", m.platform());
            for reserved in ["platform", "name"] {
                assert!(!names.contains(reserved), "{}: {reserved} is the API's own field", m.platform());
            }
            assert!(!m.required_scopes().is_empty(), "{}: war rooms need some permission", m.platform());
        }
    }
}
