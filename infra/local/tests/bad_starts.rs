//! Every way `warroom-local` can fail to start is one line a person can act on, and a
//! non-zero exit: a bad flag (2, with the usage), a port in use, a damaged data directory (1).

mod support;

use support::*;

#[test]
fn a_bad_flag_is_one_clear_line_and_the_usage_with_exit_2() {
    let (code, _, stderr) = run_to_exit(&["--bogus"]);
    assert_eq!(code, Some(2));
    assert_eq!(stderr.lines().next(), Some("warroom-local: unknown option --bogus"));
    assert!(stderr.contains("usage: warroom-local"), "{stderr}");
    let (code, stdout, _) = run_to_exit(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with("usage: warroom-local"));
}

#[test]
fn a_port_in_use_is_one_line_suggesting_another_with_exit_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = temp_dir("port");
    let (code, _, stderr) = run_to_exit(&["--listen", &addr, "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert_eq!(one_line(&stderr), format!("warroom-local: {addr} is already in use; pass --listen 127.0.0.1:PORT"));
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn a_store_file_that_is_not_a_database_is_one_line_naming_it_with_exit_1() {
    let data = temp_dir("corrupt-store");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("warroom.redb"), "this is not a database, just some text that is long enough to be read").unwrap();
    let (code, _, stderr) = run_to_exit(&["--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    let line = one_line(&stderr);
    assert!(line.starts_with("warroom-local: ") && line.contains(&data.join("warroom.redb").display().to_string()), "{line}");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn an_unreadable_key_file_is_one_line_naming_it_with_exit_1() {
    let data = temp_dir("corrupt-key");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("secret.key"), "not a key").unwrap();
    let (code, _, stderr) = run_to_exit(&["--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    let line = one_line(&stderr);
    assert!(line.contains(&data.join("secret.key").display().to_string()), "{line}");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn a_malformed_outbound_allow_entry_is_one_line_naming_it_with_exit_1() {
    let data = temp_dir("outbound");
    let allow = [("WARROOM_OUTBOUND_ALLOW", "10.0.12.0/24, 10.0.0.0/40")];
    let (code, _, stderr) = run_to_exit_with(&["--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()], &allow);
    assert_eq!(code, Some(1));
    let line = one_line(&stderr);
    assert!(line.starts_with("warroom-local: WARROOM_OUTBOUND_ALLOW: \"10.0.0.0/40\" is neither a CIDR"), "{line}");
    let _ = std::fs::remove_dir_all(&data);
}
