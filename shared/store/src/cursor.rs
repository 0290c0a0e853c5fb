//! The incident list's cursor, the same text for both adapters: `{created:015}.{id}` (the
//! GSI1 sort key of the last incident of a page, `#` written as `.` so it needs no escaping
//! in a query string). Opaque to callers, but its shape is documented
//! (`^[0-9]{15,20}\.[A-Za-z0-9_-]{1,64}$` in docs/openapi.json): any text of that shape
//! is a position in the list, whether or not an incident is there, so a client can never
//! get an error for a cursor the document allows.

use warroom_core::{StoreError, StoreResult};

/// The most digits a creation time in milliseconds can have (`i64::MAX`).
const MAX_TIME_DIGITS: usize = 20;
/// Incident ids are `inc_` and 16 characters; 64 leaves room without allowing junk.
const MAX_ID_LEN: usize = 64;

/// The cursor of the page that ends at the incident with this GSI1 sort key.
pub(crate) fn encode(gsi_sk: &str) -> StoreResult<String> {
    let (created, id) = gsi_sk.split_once('#').ok_or_else(|| StoreError::Corrupt(format!("incident index sort key {gsi_sk:?} has no '#'")))?;
    Ok(format!("{created}.{id}"))
}

/// The GSI1 sort key a cursor stands for; `Invalid` (an API 400) for any other text.
pub(crate) fn decode(cursor: &str) -> StoreResult<String> {
    let bad = || StoreError::Invalid(format!("malformed incident list cursor {cursor:?}: pass the `next` of the previous page as it is"));
    let (created, id) = cursor.split_once('.').ok_or_else(bad)?;
    let time_ok = (15..=MAX_TIME_DIGITS).contains(&created.len()) && created.bytes().all(|b| b.is_ascii_digit());
    let id_ok = (1..=MAX_ID_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !(time_ok && id_ok) {
        return Err(bad());
    }
    Ok(format!("{created}#{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_through_the_sort_key() {
        let sk = "000001700000000#inc_abc123";
        let cursor = encode(sk).unwrap();
        assert_eq!(cursor, "000001700000000.inc_abc123");
        assert_eq!(decode(&cursor).unwrap(), sk);
    }

    #[test]
    fn text_of_another_shape_is_refused() {
        for bad in [
            "",
            "zz",
            "00000170000000.inc_a",
            "000001700000000#inc_a",
            "000001700000000.",
            "000001700000000.inc a",
            "x00001700000000.inc_a",
            &format!("000001700000000.{}", "a".repeat(65)),
        ] {
            assert!(matches!(decode(bad), Err(StoreError::Invalid(_))), "{bad:?}");
        }
    }
}
