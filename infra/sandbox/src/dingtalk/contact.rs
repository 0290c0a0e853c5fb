//! User look-up by mobile (reference §4): `POST /topapi/v2/user/getbymobile?access_token=`
//! `{"mobile", "support_exclusive_account_search"}` → `{"errcode":0,"result":{"userid",
//! "exclusive_account_userid_list"}}`. DingTalk has no look-up by email (§4, UNCERTAIN): the
//! sandbox stores users' emails only for the view and the local stack's account linking.

use serde_json::json;

use super::reply::{bad_param, old_fail, old_ok, Gen, Reply};
use super::state::State;
use super::Req;

/// Mainland numbers match with or without `+86` / `86-` (the adapter may hold either form).
fn same_mobile(stored: &str, asked: &str) -> bool {
    let norm = |s: &str| {
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        digits.strip_prefix("86").filter(|d| d.len() == 11).map(str::to_string).unwrap_or(digits)
    };
    norm(stored) == norm(asked)
}

/// An unknown mobile: `60121 找不到该用户` (the code live clients quote for this API; UNCERTAIN).
pub(crate) fn get_by_mobile(st: &State, req: &Req) -> Reply {
    let body = match req.json(Gen::Old) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(mobile) = body["mobile"].as_str().filter(|m| !m.is_empty()) else {
        return bad_param(Gen::Old, "mobile");
    };
    match st.users.iter().find(|u| u.mobile.as_deref().is_some_and(|m| same_mobile(m, mobile))) {
        Some(u) => old_ok(json!({"result": {"userid": u.user_id, "exclusive_account_userid_list": []}})),
        None => old_fail(60121, "找不到该用户"),
    }
}

#[cfg(test)]
mod tests {
    use super::same_mobile;

    #[test]
    fn mainland_mobiles_match_with_or_without_the_country_code() {
        assert!(same_mobile("+86 130 1111 1111", "13011111111"));
        assert!(same_mobile("13011111111", "86-13011111111"));
        assert!(!same_mobile("13011111111", "13011111112"));
    }
}
