//! `warroom-admin`: argument parsing and the bootstrap itself (against the embedded store).

use api::cli::{self, Command};
use warroom_core::{KeyScope, Store, SystemClock};
use warroom_http::auth;
use warroom_store::embedded::EmbeddedStore;

fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.to_string()).collect()
}

#[test]
fn commands_parse_and_bad_arguments_are_explained() {
    assert_eq!(cli::parse(&args(&["create-tenant", "--name", "Acme Ops"])), Ok(Command::CreateTenant { name: "Acme Ops".into() }));
    assert_eq!(cli::parse(&args(&["create-tenant", "--name=Acme"])), Ok(Command::CreateTenant { name: "Acme".into() }));
    assert_eq!(
        cli::parse(&args(&["create-key", "--tenant", "ten_1", "--label", "grafana", "--scope", "intake"])),
        Ok(Command::CreateKey { tenant: "ten_1".into(), label: "grafana".into(), scope: KeyScope::Intake })
    );
    assert_eq!(cli::parse(&args(&["--help"])), Ok(Command::Help));
    for (bad, says) in [
        (vec![], "no command"),
        (vec!["create-tenant"], "needs --name"),
        (vec!["create-tenant", "--name"], "--name needs a value"),
        (vec!["create-tenant", "--name", "  "], "needs --name"),
        (vec!["create-tenant", "--nmae", "x"], "does not take --nmae"),
        (vec!["create-tenant", "acme"], "unexpected argument"),
        (vec!["drop-table"], "unknown command"),
        (vec!["create-key", "--tenant", "t", "--label", "l", "--scope", "root"], "--scope must be"),
    ] {
        let err = cli::parse(&args(&bad)).unwrap_err();
        assert!(err.contains(says), "{bad:?}: {err}");
    }
}

#[tokio::test]
async fn create_tenant_stores_the_tenant_and_an_admin_key_that_authenticates() {
    let store = EmbeddedStore::open_temporary().unwrap();
    let (tenant, key) = cli::create_tenant(&store, &SystemClock, "Acme").await.unwrap();
    assert_eq!(store.get_tenant(&tenant.id).await.unwrap().unwrap().name, "Acme");
    let record = store.find_api_key(&auth::hash_key(&key)).await.unwrap().unwrap();
    assert_eq!((record.tenant_id, record.scope), (tenant.id.clone(), KeyScope::Admin));

    let second = cli::create_key(&store, &SystemClock, &tenant.id, "grafana", KeyScope::Intake).await.unwrap();
    assert_ne!(second, key);
    assert!(cli::create_key(&store, &SystemClock, &"ten_nope".into(), "x", KeyScope::Admin).await.unwrap_err().contains("no tenant"));
}
