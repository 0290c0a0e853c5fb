//! Which permission points the app lacks. DingTalk has no API that lists an app's granted
//! points (ref §6); a missing one shows only as `Forbidden.AccessDenied.AccessTokenPermissionDenied`
//! naming it in `requiredScopes`. So each point war rooms use is probed with one harmless
//! call aimed at a group and a phone that do not exist: a refusal for the permission means
//! it is missing, any other answer (no such group, no such user) means it is granted.
//!
//! UNCERTAIN: that DingTalk checks the permission before the request's content, as API
//! gateways do (the sandbox's gateway does, `infra/sandbox/src/dingtalk/gate.rs`); if it
//! validated the group first, a probe would read "granted" and the refusal would come at
//! the first real call instead (still marked missing then, by the client). Cost: three
//! metered calls per check (the phone lookup is a contacts API, not metered; notes Q9);
//! checks run when connecting and when enabling war rooms, not per incident.

use super::platform::DingTalkPlatform;
use reqwest::Method;
use serde_json::json;
use warroom_core::{ImError, ImResult};

/// An openConversationId no group has.
const NO_GROUP: &str = "cidWarroomPermissionProbe0000000000==";
/// A mainland number no account has (the 100… block is not issued to subscribers).
const NO_PHONE: &str = "10000000000";

/// The points probed, and the points each stands for (a read accepts either read point).
pub(crate) const PROBED: &[&str] = &["qyapi_chat_manage", "qyapi_chat_read", "qyapi_chat_base_read", "qyapi_robot_sendmsg", "qyapi_get_member_by_mobile"];

impl DingTalkPlatform {
    /// The probed points DingTalk refuses this app now. Rate limits, outages and refused
    /// credentials are errors: nothing can be said about the grants then.
    pub(crate) async fn probe_permissions(&self) -> ImResult<Vec<String>> {
        let robot = self.robot_code().to_owned();
        let calls: [(&str, Method, &str, serde_json::Value, bool); 4] = [
            ("qyapi_chat_manage", Method::POST, "/v1.0/im/sceneGroup/member/add", json!({"open_conversation_id": NO_GROUP, "user_ids": "warroom_probe"}), true),
            ("qyapi_chat_read", Method::POST, "/v1.0/im/sceneGroups/query", json!({"openConversationId": NO_GROUP}), true),
            (
                "qyapi_robot_sendmsg",
                Method::POST,
                "/v1.0/robot/groupMessages/send",
                json!({"robotCode": robot, "openConversationId": NO_GROUP, "msgKey": "sampleText", "msgParam": "{\"content\":\"probe\"}"}),
                true,
            ),
            ("qyapi_get_member_by_mobile", Method::POST, "/topapi/v2/user/getbymobile", json!({"mobile": NO_PHONE}), false),
        ];
        let mut denied = Vec::new();
        for (scope, method, path, body, new_api) in calls {
            let answer = if new_api { self.client().new_api(method, path, scope, Some(&body)).await } else { self.client().old_api(path, scope, &body).await };
            match answer {
                Err(ImError::MissingPermission { scope: refused }) => {
                    denied.push(if refused == "unknown" || refused.is_empty() { scope.to_owned() } else { refused });
                    // A read refused for one point is refused for the other one too.
                    if scope == "qyapi_chat_read" {
                        denied.push("qyapi_chat_base_read".to_owned());
                    }
                }
                Err(e @ (ImError::RateLimited { .. } | ImError::Transient(_) | ImError::Unauthorized(_))) => return Err(e),
                // No such group / user, or a refusal for another reason: the point itself passed.
                Ok(_) | Err(_) => self.forget_denied(scope).await,
            }
        }
        denied.sort();
        denied.dedup();
        Ok(denied)
    }
}
