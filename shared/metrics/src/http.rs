//! Middleware for the HTTP functions' routers.
//!
//! - [`callbacks`]: counts every IM callback by platform, route template and outcome, with
//!   its latency, and its refusals by reason (from the 4xx status). The platform of a
//!   per-integration route is only known once the handler has loaded the integration: the
//!   handler names it with [`note_platform`].
//! - [`flushing`]: writes the EMF lines after each response (one Lambda invocation).

use crate::{callback, callback_refused, CallbackOutcome, RefusalReason};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;
use std::cell::Cell;
use std::time::Instant;

tokio::task_local! {
    static PLATFORM: Cell<Option<&'static str>>;
}

/// A callback route template and the platform it serves when the path does not name it.
pub type CallbackRoute = (&'static str, &'static str);

/// The platform a per-integration callback belongs to (no-op outside [`callbacks`]).
pub fn note_platform(platform: &'static str) {
    let _ = PLATFORM.try_with(|p| p.set(Some(platform)));
}

/// `router.layer(callback_layer(ROUTES))`, with the router's callback routes (others pass
/// through uncounted; a route counted with platform `unknown` never reached its handler's
/// `note_platform`: an unknown integration, or a refusal before it was loaded).
pub fn layer(router: Router, routes: &'static [CallbackRoute]) -> Router {
    router.layer(from_fn_with_state(routes, callbacks))
}

pub async fn callbacks(State(routes): State<&'static [CallbackRoute]>, request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let Some(&(route, default_platform)) = routes.iter().find(|(r, _)| Some(*r) == matched.as_deref()) else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let (response, noted) = PLATFORM
        .scope(Cell::new(None), async {
            let response = next.run(request).await;
            (response, PLATFORM.with(Cell::get))
        })
        .await;
    let platform = noted.unwrap_or(default_platform);
    let status = response.status().as_u16();
    let outcome = CallbackOutcome::from_status(status);
    callback(platform, route, outcome, started.elapsed());
    if outcome == CallbackOutcome::Refused {
        callback_refused(platform, RefusalReason::from_status(status));
    }
    response
}

/// The router, flushing the EMF lines after each response (nothing to do elsewhere).
pub fn flushing(router: Router) -> Router {
    router.layer(from_fn(flush_after))
}

async fn flush_after(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    crate::flush();
    response
}
