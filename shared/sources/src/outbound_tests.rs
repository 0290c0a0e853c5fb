use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn every_internal_class_is_refused_by_default_and_public_addresses_pass() {
    let policy = OutboundPolicy::public_only();
    for (address, class) in [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "instance metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fd00:ec2::254", "unique local"),
        ("0.0.0.0", "this network"),
        ("::", "unspecified"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "instance metadata"),
        ("::127.0.0.1", "loopback"),
        ("::169.254.169.254", "instance metadata"),
        ("::10.0.0.1", "private"),
        ("fec0::1", "site-local"),
        ("64:ff9b::a00:1", "private"),
        ("255.255.255.255", "reserved"),
        ("224.0.0.1", "multicast"),
    ] {
        let refused = policy.check(ip(address)).unwrap_err();
        assert!(refused.class.contains(class), "{address}: {refused}");
        assert!(refused.to_string().contains("WARROOM_OUTBOUND_ALLOW"), "the message says how to allow it: {refused}");
    }
    for public in ["93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "::8.8.8.8"] {
        assert_eq!(policy.check(ip(public)), Ok(()), "{public}");
    }
}

#[test]
fn the_operator_allows_cidrs_addresses_and_names_and_a_bad_entry_is_named() {
    let policy = OutboundPolicy::parse(" 10.0.12.0/24 , 192.168.1.5,am.internal ,").unwrap();
    assert_eq!(policy.check(ip("10.0.12.7")), Ok(()));
    assert_eq!(policy.check(ip("192.168.1.5")), Ok(()));
    assert!(policy.check(ip("10.0.13.7")).is_err(), "only the range allowed");
    assert_eq!(policy.check(ip("::ffff:10.0.12.7")), Ok(()), "the same host, written as IPv6");
    assert!(policy.check(ip("::ffff:10.0.13.7")).is_err());
    assert!(policy.check(ip("169.254.169.254")).is_err());
    assert!(policy.allows_host("AM.Internal."));
    assert!(policy.describe().contains("10.0.12.0/24") && policy.describe().contains("am.internal"));
    assert_eq!(OutboundPolicy::parse("10.0.0.0/33").unwrap_err().entry, "10.0.0.0/33");
    assert_eq!(OutboundPolicy::parse("http://am:9093").unwrap_err().entry, "http://am:9093");
    assert_eq!(OutboundPolicy::parse("").unwrap(), OutboundPolicy::public_only());
}

#[test]
fn ip_literal_urls_are_checked_before_any_request() {
    let policy = OutboundPolicy::public_only();
    // The URL parser normalises other spellings of an IPv4 address (decimal, hex, short
    // forms) to the dotted form first, so they are caught as the address they are.
    for refused in [
        "http://127.0.0.1:9093/",
        "http://[::1]/x",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/cb",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
    ] {
        assert!(policy.check_url(&refused.parse().unwrap()).is_err(), "{refused}");
    }
    assert_eq!(policy.check_url(&"https://ops.example.com/cb".parse().unwrap()), Ok(()), "names go through the resolver");
    assert_eq!(policy.check_url(&"https://93.184.216.34/cb".parse().unwrap()), Ok(()));
}

#[tokio::test]
async fn a_name_is_judged_by_the_addresses_it_resolves_to() {
    // A public-looking name pointed at the metadata service (DNS rebinding) is refused; a
    // name with a public and a private address keeps only the public one.
    let resolver = PolicyResolver::new(OutboundPolicy::public_only()).with_lookup(|host| match host {
        "rebind.example.com" => vec![ip("169.254.169.254")],
        "mixed.example.com" => vec![ip("10.0.0.5"), ip("93.184.216.34")],
        _ => vec![ip("93.184.216.34")],
    });
    let err = match resolver.resolve("rebind.example.com".parse().unwrap()).await {
        Err(e) => e,
        Ok(_) => panic!("rebind.example.com must be refused"),
    };
    let refused = err.downcast_ref::<Refused>().expect("the refusal travels as itself");
    assert_eq!(refused.address, ip("169.254.169.254"));
    let kept: Vec<_> = resolver.resolve("mixed.example.com".parse().unwrap()).await.unwrap().map(|a| a.ip()).collect();
    assert_eq!(kept, [ip("93.184.216.34")]);
    // A name the operator allows may resolve anywhere.
    let allowed = PolicyResolver::new(OutboundPolicy::parse("rebind.example.com").unwrap()).with_lookup(|_| vec![ip("10.0.0.5")]);
    let kept: Vec<_> = allowed.resolve("rebind.example.com".parse().unwrap()).await.unwrap().map(|a| a.ip()).collect();
    assert_eq!(kept, [ip("10.0.0.5")]);
}
