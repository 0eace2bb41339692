//! The HTTP face of berthd: routes of the Docker Engine API onto [`Engine`] methods.
//!
//! Thin by design: each handler parses its request, calls one engine method and serialises
//! the result. Around the routes sits one middleware that checks and strips the `/vX.Y`
//! version prefix and stamps dockerd's response headers on every response; unknown paths
//! get dockerd's 404 body, panics become a 500 with an error body, never a dropped socket.

mod error;
mod extract;
mod system;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use berth_api::{ApiError, ApiVersion, MAX_API_VERSION};

pub use error::Error;

use crate::engine::Engine;

/// Builds the whole API service for one engine.
pub fn router(engine: Arc<Engine>) -> Router {
    let routes = Router::new()
        .route("/_ping", get(system::ping).head(system::ping_head))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/events", get(system::events))
        .fallback(not_found)
        // dockerd answers a known path with the wrong method as an unknown one.
        .method_not_allowed_fallback(not_found)
        .with_state(engine);
    // The outer router has no routes of its own: every request goes through the version
    // middleware *before* the inner router matches the rewritten path.
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn(versioned))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
}

async fn versioned(mut req: Request, next: Next) -> Response {
    let (prefix, rest) = ApiVersion::split_path(req.uri().path());
    if let Some(v) = prefix {
        if let Err(e) = v
            .parse::<ApiVersion>()
            .and_then(ApiVersion::check_supported)
        {
            return stamp(Error(ApiError::invalid(e.to_string())).response());
        }
        let path_and_query = match req.uri().query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_string(),
        };
        let mut parts = req.uri().clone().into_parts();
        parts.path_and_query = path_and_query.parse().ok();
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    stamp(next.run(req).await)
}

/// dockerd's headers on every response.
fn stamp(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert("Api-Version", HeaderValue::from_static(api_version_str()));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert(
        "Server",
        HeaderValue::from_static(concat!("berth/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
    resp
}

fn api_version_str() -> &'static str {
    static S: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    S.get_or_init(|| MAX_API_VERSION.to_string())
}

async fn not_found() -> Error {
    Error(ApiError::not_found("page not found"))
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("request handler panicked");
    Error(ApiError::internal(
        "internal error in berthd (a bug: please report it with the daemon's log)",
    ))
    .response()
}
