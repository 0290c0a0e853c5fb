//! Signing in to the console through the team's IM (Feishu, against its sandbox): an admin
//! member gets a session naming them; a plain member, someone no member matches, a forged
//! or replayed state or ticket get a page saying why, and no session; demoting, deleting or
//! unlinking the member ends the session on the next request.

#[path = "console/browser.rs"]
mod browser;
mod common;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use axum::Router;
use browser::{Browser, Page};
use common::{App, PUBLIC_URL};
use tower::ServiceExt;
use warroom_core::{Actor, Integration, Member, MemberRole, Store, TenantId};
use warroom_sandbox::feishu::FeishuSandbox;

struct World {
    app: App,
    sandbox: FeishuSandbox,
    oauth: Router,
    tenant: TenantId,
    key: String,
    integration: Integration,
}

async fn world() -> World {
    let (app, sandbox) = App::with_feishu_sandbox().await;
    sandbox.add_app("cli_signin", "app-secret-0123456789", "verify-token", "encrypt-key", &["im:message", "contact:user.email:readonly"]);
    sandbox.add_user("ou_ada", "Ada", Some("ada@example.com"), None);
    sandbox.add_user("ou_bob", "Bob", Some("bob@example.com"), None);
    sandbox.add_user("ou_eve", "Eve", Some("eve@elsewhere.example"), None);
    let t = app.tenant("acme").await;
    let reply = app
        .call(
            axum::http::Method::POST,
            "/api/v1/integrations",
            Some(&t.key),
            Some(serde_json::json!({"platform": "feishu", "app_id": "cli_signin", "app_secret": "app-secret-0123456789",
                "verification_token": "verify-token", "encrypt_key": "encrypt-key"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let integration = app.store.list_integrations(&t.id).await.unwrap().remove(0);
    put_member(&app, &t.id, "mem_ada", "Ada", "ada@example.com", MemberRole::Admin).await;
    put_member(&app, &t.id, "mem_bob", "Bob", "bob@example.com", MemberRole::Member).await;
    let oauth = oauth_callback::router(app.state.clone());
    World { app, sandbox, oauth, tenant: t.id, key: t.key, integration }
}

async fn put_member(app: &App, tenant: &TenantId, id: &str, name: &str, email: &str, role: MemberRole) {
    let mut m: Member = warroom_testkit::fixtures::member(tenant, id, name);
    m.email = Some(email.into());
    m.role = role;
    app.store.put_member(&m).await.unwrap();
}

async fn call(router: &Router, uri: &str) -> Page {
    let resp = router.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    Page { status, headers, html: String::from_utf8_lossy(&bytes).into_owned(), redirected_to: None }
}

fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/".into(), |i| rest[i..].to_owned())
}

impl World {
    /// The console's link → the sandbox's authorize page (as `user`) → the OAuth callback:
    /// its answer (a hand-over to the console, or a refusal page).
    async fn sign_in_as(&self, b: &Browser<'_>, user: &str) -> Page {
        let start = b.get(&format!("/console/sign-in/im/{}", self.integration.id)).await;
        assert!(start.status.is_redirection(), "{}", start.html);
        let authorize = format!("{}&user={user}", path_of(start.location()));
        let back = call(&self.sandbox.router(), &authorize).await;
        let callback = back.location().to_owned();
        assert!(callback.starts_with(&format!("{PUBLIC_URL}/oauth/{}/callback?", self.integration.id)), "{callback}");
        call(&self.oauth, &path_of(&callback)).await
    }
}

#[tokio::test]
async fn an_admin_member_signs_in_through_feishu_and_acts_as_themselves() {
    let w = world().await;
    let mut b = Browser::new(&w.app);
    let handed = w.sign_in_as(&b, "ou_ada").await;
    assert_eq!(handed.status, StatusCode::SEE_OTHER, "{}", handed.html);
    let done = handed.location().to_owned();
    assert!(done.starts_with(&format!("{PUBLIC_URL}/console/sign-in/im/done?ticket=")), "{done}");
    assert!(w.app.store.link_by_member(&w.tenant, &w.integration.id, &"mem_ada".into()).await.unwrap().is_some(), "signing in links the account");

    let page = b.get(&path_of(&done)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let cookie = page.set_cookies().into_iter().find(|c| c.starts_with("warroom_console=")).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console", "Secure"] {
        assert!(cookie.split("; ").any(|a| a == attribute), "{attribute} missing: {cookie}");
    }
    assert!(page.html.contains(r#"http-equiv="refresh""#) && page.html.contains("Signed in as"), "{}", page.html);
    b.take_session_cookie(&page);
    let home = b.get("/console/incidents").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.html);
    assert!(home.html.contains("Admin Ada"), "the session names the member, not a key: {}", home.html);

    // What she does is hers on the timeline.
    let (i, _fake) = (w.integration.clone(), ());
    w.app.store.enable_war_room(&w.tenant, &i.id).await.unwrap();
    let inc = w.app.incident(&w.tenant, "ext-ada").await;
    let path = format!("/console/incidents/{}", inc.id);
    let page = b.submit(&path, &format!("{path}/war-room"), &[]).await;
    assert_eq!(page.redirected_to.as_deref(), Some(path.as_str()), "{}", page.html);
    let timeline = w.app.store.list_timeline(&w.tenant, &inc.id).await.unwrap();
    assert_eq!(timeline[0].actor, Actor::Member { id: "mem_ada".into(), name: "Ada".into() });

    // The ticket was single-use.
    let again = b.get(&path_of(&done)).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.html);
    assert!(again.set_cookies().iter().all(|c| !c.starts_with("warroom_console=")), "no session from a replayed ticket");
}

#[tokio::test]
async fn demoting_deleting_or_unlinking_the_admin_ends_their_session_on_the_next_request() {
    let w = world().await;
    for end in ["demote", "delete", "unlink"] {
        let mut b = Browser::new(&w.app);
        let handed = w.sign_in_as(&b, "ou_ada").await;
        let page = b.get(&path_of(handed.location())).await;
        b.take_session_cookie(&page);
        assert_eq!(b.get("/console/members").await.status, StatusCode::OK, "{end}");
        match end {
            "demote" => put_member(&w.app, &w.tenant, "mem_ada", "Ada", "ada@example.com", MemberRole::Member).await,
            "delete" => w.app.store.delete_member(&w.tenant, &"mem_ada".into()).await.unwrap(),
            _ => w.app.store.delete_link(&w.tenant, &w.integration.id, &"mem_ada".into()).await.unwrap(),
        }
        let page = b.get("/console/members").await;
        assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/console/?expired=1"), "{end}");
        put_member(&w.app, &w.tenant, "mem_ada", "Ada", "ada@example.com", MemberRole::Admin).await;
    }
}

#[tokio::test]
async fn a_plain_member_an_unmatched_user_and_a_forged_state_get_a_page_and_no_session() {
    let w = world().await;
    let b = Browser::new(&w.app);
    let bob = w.sign_in_as(&b, "ou_bob").await;
    assert_eq!(bob.status, StatusCode::FORBIDDEN, "{}", bob.html);
    assert!(bob.html.contains("not a console admin") && bob.header("location").is_empty(), "{}", bob.html);

    let eve = w.sign_in_as(&b, "ou_eve").await;
    assert_eq!(eve.status, StatusCode::NOT_FOUND, "{}", eve.html);
    assert!(eve.html.contains("no Warroom member has your email or phone"), "{}", eve.html);

    let forged = call(&w.oauth, &format!("/oauth/{}/callback?code=abc&state=forgedstate0123456789", w.integration.id)).await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{}", forged.html);
    let ticket = b.get("/console/sign-in/im/done?ticket=madeup0123456789").await;
    assert_eq!(ticket.status, StatusCode::BAD_REQUEST);
    for page in [&bob, &eve, &forged, &ticket] {
        assert!(page.set_cookies().iter().all(|c| !c.starts_with("warroom_console=")), "no session: {:?}", page.set_cookies());
    }
    let unknown = b.get("/console/sign-in/im/int_nope").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_sign_in_page_offers_the_remembered_tenants_im_and_the_integration_page_its_link() {
    let w = world().await;
    let fresh = Browser::new(&w.app);
    assert!(!fresh.get("/console/").await.html.contains("Sign in with Feishu"), "a browser that never signed in is told no tenant");
    let b = Browser::signed_in(&w.app, &w.key).await;
    let detail = b.get(&format!("/console/integrations/{}", w.integration.id)).await;
    let link = format!("{PUBLIC_URL}/console/sign-in/im/{}", w.integration.id);
    assert!(detail.html.contains(&format!(r#"value="{link}""#)), "{}", detail.html);
    let out = b.submit("/console/incidents", "/console/sign-out", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let mut signed_out = Browser::new(&w.app);
    *signed_out.jar.lock().unwrap() = b.jar.lock().unwrap().clone();
    let page = signed_out.get("/console/").await;
    assert!(page.html.contains(&format!(r#"href="/console/sign-in/im/{}""#, w.integration.id)) && page.html.contains("Sign in with Feishu"), "{}", page.html);
    // A hint that is not signed names no tenant.
    signed_out.jar.lock().unwrap().iter_mut().for_each(|(n, v)| {
        if n == "warroom_console_tenant" {
            *v = format!("{}.00", hex_of(w.tenant.as_str()));
        }
    });
    assert!(!signed_out.get("/console/").await.html.contains("Sign in with Feishu"));
    signed_out.cookie = None;
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[allow(dead_code)]
fn unused(_: header::HeaderName) {}
