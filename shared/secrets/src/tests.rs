use super::*;

fn sb() -> SecretBox {
    SecretBox::from_key(&[7u8; 32])
}

#[test]
fn a_sealed_secret_opens_only_with_its_key_and_context() {
    let sealed = sb().seal("xoxb-123-secret", "integration:int_1");
    assert!(!sealed.0.contains("xoxb"), "ciphertext must not contain the plaintext");
    assert_eq!(sb().open(&sealed, "integration:int_1").unwrap().expose(), "xoxb-123-secret");
    assert_eq!(sb().open(&sealed, "integration:int_2"), Err(SecretError::Unopenable));
    assert_eq!(SecretBox::from_key(&[8u8; 32]).open(&sealed, "integration:int_1"), Err(SecretError::Unopenable));
}

#[test]
fn sealing_twice_gives_different_ciphertexts() {
    assert_ne!(sb().seal("same", "c"), sb().seal("same", "c"));
}

#[test]
fn tampered_or_garbled_values_are_refused() {
    let sealed = sb().seal("token", "c");
    let mut bytes = B64.decode(&sealed.0[3..]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let tampered = SealedCredentials(format!("v1:{}", B64.encode(bytes)));
    assert_eq!(sb().open(&tampered, "c"), Err(SecretError::Unopenable));
    assert_eq!(sb().open(&SealedCredentials("token".into()), "c"), Err(SecretError::Malformed));
    assert_eq!(sb().open(&SealedCredentials("v1:!!".into()), "c"), Err(SecretError::Malformed));
}

#[test]
fn secrets_never_print_their_value() {
    let s = Secret::new("hunter2");
    assert_eq!(format!("{s:?}"), "Secret(7 bytes)");
    assert_eq!(format!("{s}"), "[redacted]");
    assert!(!format!("{:?}", sb()).contains('7'));
}

#[test]
fn keys_must_be_32_bytes_of_base64() {
    assert!(SecretBox::from_base64(&SecretBox::generate_key()).is_ok());
    assert!(matches!(SecretBox::from_base64("c2hvcnQ=").unwrap_err(), SecretError::BadKey(_)));
    assert!(matches!(SecretBox::from_base64("not base64!").unwrap_err(), SecretError::BadKey(_)));
}

#[test]
fn a_key_file_is_created_once_and_read_back() {
    let dir = std::env::temp_dir().join(format!("warroom-key-{}", warroom_core::ids::random_suffix()));
    let path = dir.join("secret.key");
    let first = SecretBox::load_or_create_key_file(&path).unwrap();
    let sealed = first.seal("v", "c");
    let again = SecretBox::load_or_create_key_file(&path).unwrap();
    assert_eq!(again.open(&sealed, "c").unwrap().expose(), "v");
    std::fs::write(&path, "garbage").unwrap();
    assert!(matches!(SecretBox::load_or_create_key_file(&path), Err(SecretError::KeyFile { .. })));
    std::fs::remove_dir_all(dir).unwrap();
}

// --- rotation -----------------------------------------------------------------------------

fn key_a() -> [u8; 32] {
    [0xA; 32]
}
fn key_b() -> [u8; 32] {
    [0xB; 32]
}
/// The box of a deployment mid-rotation: B is the new key, A the old one.
fn rotating() -> SecretBox {
    SecretBox::from_key(&key_b()).with_previous_key(&key_a())
}

#[test]
fn a_value_sealed_with_the_old_key_opens_with_the_new_key_and_the_old_one_as_previous() {
    let sealed = SecretBox::from_key(&key_a()).seal("xoxb-old", "integration:int_1");
    let (plain, used) = rotating().open_reporting_key(&sealed, "integration:int_1").unwrap();
    assert_eq!((plain.expose(), used), ("xoxb-old", KeyUsed::Previous));
    assert_eq!(rotating().open(&sealed, "integration:int_1").unwrap().expose(), "xoxb-old");
}

#[test]
fn a_value_sealed_with_the_old_key_does_not_open_with_the_new_key_alone() {
    let sealed = SecretBox::from_key(&key_a()).seal("xoxb-old", "integration:int_1");
    assert_eq!(SecretBox::from_key(&key_b()).open(&sealed, "integration:int_1"), Err(SecretError::Unopenable));
}

#[test]
fn the_previous_key_does_not_loosen_the_context_binding() {
    let sealed = SecretBox::from_key(&key_a()).seal("xoxb-old", "integration:int_1");
    assert_eq!(rotating().open(&sealed, "integration:int_2"), Err(SecretError::Unopenable));
}

#[test]
fn a_rotating_box_seals_with_the_new_key_only() {
    let sealed = rotating().seal("fresh", "c");
    assert_eq!(SecretBox::from_key(&key_b()).open(&sealed, "c").unwrap().expose(), "fresh");
    assert_eq!(SecretBox::from_key(&key_a()).open(&sealed, "c"), Err(SecretError::Unopenable));
}

#[test]
fn resealing_moves_an_old_value_to_the_new_key_and_leaves_a_current_one_alone() {
    let old = SecretBox::from_key(&key_a()).seal("token", "c");
    let Resealed::Moved(moved) = rotating().reseal(&old, "c").unwrap() else { panic!("an old value must be moved") };
    assert_eq!(SecretBox::from_key(&key_b()).open(&moved, "c").unwrap().expose(), "token");
    assert_eq!(rotating().reseal(&moved, "c").unwrap(), Resealed::AlreadyCurrent);
    let foreign = SecretBox::from_key(&[0xC; 32]).seal("token", "c");
    assert_eq!(rotating().reseal(&foreign, "c"), Err(SecretError::Unopenable));
}

#[test]
fn key_text_in_json_builds_a_rotating_box() {
    let text = format!(r#"{{"current":"{}","previous":"{}"}}"#, B64.encode(key_b()), B64.encode(key_a()));
    let sb = SecretBox::from_key_text(&text).unwrap();
    assert!(sb.has_previous_key());
    let old = SecretBox::from_key(&key_a()).seal("v", "c");
    assert_eq!(sb.open_reporting_key(&old, "c").unwrap().1, KeyUsed::Previous);
    assert!(!SecretBox::from_key_text(&B64.encode(key_b())).unwrap().has_previous_key());
}

#[test]
fn only_values_of_the_sealed_shape_look_sealed() {
    assert!(SecretBox::looks_sealed(&sb().seal("x", "c").0));
    for not_sealed in ["https://example.com/cb", "v1:", "v1:c2hvcnQ=", "ops@example.com", "warroom"] {
        assert!(!SecretBox::looks_sealed(not_sealed), "{not_sealed}");
    }
}

#[test]
fn debug_of_a_rotating_box_shows_no_key_material() {
    let shown = format!("{:?}", rotating());
    assert_eq!(shown, "SecretBox { keys: \"[redacted]\", has_previous: true }");
}
