//! `warroom_intake::parse`: the one entry point the intake route calls.

use warroom_intake::{parse, IntakeError, SOURCES};

const GENERIC: &[u8] = include_bytes!("fixtures/generic_example.json");
const ALERTMANAGER: &[u8] = include_bytes!("fixtures/alertmanager_firing.json");
const PAGERDUTY: &[u8] = include_bytes!("fixtures/pagerduty_priority_updated.json");
const PD_SECRET: &[u8] = b"lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK";
const PD_SIGNATURE: &str = "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd";

fn no_headers(_: &str) -> Option<String> {
    None
}

fn pd_headers(name: &str) -> Option<String> {
    (name == "x-pagerduty-signature").then(|| PD_SIGNATURE.to_owned())
}

#[test]
fn each_source_goes_to_its_own_parser() {
    let generic = parse("generic", GENERIC, &no_headers, None).expect("generic");
    assert_eq!(generic[0].source.source, "generic");
    let am = parse("alertmanager", ALERTMANAGER, &no_headers, None).expect("alertmanager");
    assert_eq!(am[0].source.source, "alertmanager");
    let pd = parse("pagerduty", PAGERDUTY, &pd_headers, Some(PD_SECRET)).expect("pagerduty");
    assert_eq!(pd[0].source.source, "pagerduty");
    assert_eq!(SOURCES, ["generic", "alertmanager", "pagerduty"]);
}

#[test]
fn an_unknown_source_is_unsupported() {
    let got = parse("nagios", GENERIC, &no_headers, None);
    let reason = "unknown intake source `nagios` (expected one of: generic, alertmanager, pagerduty)";
    assert_eq!(got, Err(IntakeError::Unsupported { reason: reason.into() }));
    assert_eq!(got.map_err(|e| e.code()), Err("unsupported"));
}

#[test]
fn pagerduty_without_a_configured_secret_is_refused() {
    let got = parse("pagerduty", PAGERDUTY, &pd_headers, None);
    assert!(matches!(got, Err(IntakeError::Unsupported { .. })), "{got:?}");
}

#[test]
fn pagerduty_without_its_signature_header_is_refused() {
    let got = parse("pagerduty", PAGERDUTY, &no_headers, Some(PD_SECRET));
    assert_eq!(got.map_err(|e| e.code()), Err("bad_signature"));
}

#[test]
fn alertmanager_needs_no_signature() {
    assert!(parse("alertmanager", ALERTMANAGER, &no_headers, Some(b"ignored")).is_ok());
}

#[test]
fn errors_read_well_in_api_bodies() {
    let err = IntakeError::Invalid { field: "responders[2].email".into(), reason: "not an email address".into() };
    assert_eq!(err.to_string(), "invalid `responders[2].email`: not an email address");
    assert_eq!(IntakeError::TooLarge { limit: 1 << 20 }.to_string(), "body larger than 1048576 bytes");
}
