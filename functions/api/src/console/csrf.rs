//! CSRF protection: every console form carries `csrf`, an HMAC of the session token under
//! the console's CSRF key (so it is bound to this session, and useless with another). A
//! POST without a valid one is refused with a 403 page before any handler runs: nothing
//! changes. The cookie's SameSite=Strict is a second fence, not the only one.

use super::layout;
use super::session::{self, Session};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::Response;
use maud::{html, Markup};
use warroom_http::AppState;

/// The form field that carries the token.
pub const FIELD: &str = "csrf";
/// The largest form the console takes (a pasted member import).
const MAX_FORM: usize = 2 << 20;

/// The hidden input every form of `session` carries.
pub fn input(session: &Session) -> Markup {
    html! { input type="hidden" name=(FIELD) value=(session.csrf); }
}

/// A posted form of a signed-in session whose CSRF token checked out.
pub struct Form {
    pub session: Session,
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// A field's value as sent ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.fields.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
    }

    /// Every value of a repeated field (checkboxes).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }
}

fn refused() -> Response {
    layout::failure_page(
        StatusCode::FORBIDDEN,
        "This form did not come from this console session (its security token is missing or wrong), so nothing was changed. Reload the page and try again.",
    )
}

impl FromRequest<AppState> for Form {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let session = session::load(state, req.headers()).await.map_err(|e| e.into_response(state))?;
        let form_encoded =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if !form_encoded {
            return Err(refused());
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_FORM)
            .await
            .map_err(|_| layout::failure_page(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large; nothing was changed."))?;
        let fields = parse(&bytes);
        let token = fields.iter().find(|(n, _)| n == FIELD).map_or("", |(_, v)| v.as_str());
        if token.is_empty() || !session.keys.verify_csrf(&session.token, token) {
            tracing::warn!(tenant = %session.caller.tenant, "console form refused: bad CSRF token");
            return Err(refused());
        }
        Ok(Form { session, fields })
    }
}

fn parse(bytes: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}
