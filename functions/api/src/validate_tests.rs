use super::*;

#[test]
fn labels_are_trimmed_and_refuse_controls_blanks_and_length() {
    assert_eq!(label("  Ada Lovelace ", 200).unwrap(), "Ada Lovelace");
    assert_eq!(label("数据库", 3).unwrap(), "数据库");
    for bad in ["", "   ", "\u{3000}", "a\u{0}b", "a\u{1c}", "\u{85}x"] {
        assert!(label(bad, 200).is_err(), "{bad:?}");
    }
    assert!(label(&"x".repeat(201), 200).is_err());
    assert!(label(&format!(" {} ", "x".repeat(199)), 200).is_err(), "the limit counts what was sent");
}

#[test]
fn emails_need_one_at_and_a_dotted_domain() {
    assert_eq!(email(" ada@example.com\t").unwrap(), "ada@example.com");
    assert!(email("a'b+c@sub.example.dev").is_ok());
    for bad in ["", " ", "ada", "@example.com", "ada@example", "a b@example.com", "ada@@example.com", "ada@.com", "ada@com.", "ada@exa\u{1c}mple.com"] {
        assert!(email(bad).is_err(), "{bad:?}");
    }
    assert!(email(&format!("{}@example.com", "a".repeat(250))).is_err());
}

#[test]
fn phones_are_compacted_and_blank_is_none() {
    assert_eq!(phone("+86 138-0000-0000").unwrap().as_deref(), Some("+8613800000000"));
    assert_eq!(phone("(555) 0100 123").unwrap().as_deref(), Some("5550100123"));
    assert_eq!(phone("  ").unwrap(), None);
    for bad in ["12", "+86abc", "1+234567", "++123456", "12\t345678", "１２３４５６"] {
        assert!(phone(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn caller_chosen_ids_are_plain_and_auto_is_reserved() {
    assert!(id("hr-1042").is_ok());
    assert!(id("").is_err());
    assert!(id("a/b").is_err());
    assert!(id("auto").is_err());
    assert!(id("autox").is_ok());
    assert!(id(&"x".repeat(65)).is_err());
}

#[test]
fn urls_are_http_or_https_with_a_host() {
    assert_eq!(url(" https://ops.example.com/cb?t=1 ").unwrap(), "https://ops.example.com/cb?t=1");
    assert!(url("http://alertmanager:9093").is_ok());
    assert!(url("https://x.example/cb?a[]=1").is_ok(), "brackets after the host are fine");
    for bad in [
        "",
        "ftp://x",
        "https://",
        "https:///path",
        "http://:80",
        "https://a b",
        "HTTPS://x",
        "https://x/\u{7f}y",
        "http://[::1]:9093",
        "http://[x",
        "http://a]b/c",
    ] {
        assert!(url(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn if_match_takes_a_star_or_our_tags_only() {
    assert_eq!(if_match("*").unwrap(), None);
    assert_eq!(if_match(" \"v3\" , \"v12\"").unwrap(), Some(vec![3, 12]));
    for bad in ["", "v3", "W/\"v3\"", "\"x\"", "\"v\"", "\"v3\",", "*, \"v1\"", "\"v99999999999999999999\""] {
        assert!(if_match(bad).is_err(), "{bad:?}");
    }
}
