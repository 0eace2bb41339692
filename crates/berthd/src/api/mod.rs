//! The HTTP face of berthd: routes of the Docker Engine API onto [`Engine`] methods.
//!
//! Thin by design: each handler parses its request, calls one engine method and serialises
//! the result. Around the routes sits one middleware that checks and strips the `/vX.Y`
//! version prefix and stamps dockerd's response headers on every response; unknown paths
//! get dockerd's 404 body, panics become a 500 with an error body, never a dropped socket.

mod build; // the builder (issue #8)
mod container_fs;
mod container_ops;
mod containers;
mod error;
mod extract;
mod hijack;
mod images;
mod networks;
mod registry;
mod system;
mod volumes;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{any, get, post};
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
        .route("/auth", post(registry::auth))
        .route("/events", get(system::events))
        .route("/system/df", get(system::df))
        .route("/berth/system/check", get(system::check)) // check hook (berth extension)
        .route("/images/json", get(images::list))
        .route("/images/create", post(images::create))
        .route("/images/load", post(images::load))
        .route("/images/get", get(images::save_many))
        .route("/images/prune", post(images::prune))
        .route("/images/search", get(registry::search))
        .route("/images/{*rest}", any(images_dispatch))
        .route("/containers/create", post(containers::create))
        .route("/containers/json", get(containers::list))
        .route("/containers/{id}/json", get(containers::inspect))
        .route("/containers/{id}/start", post(containers::start))
        .route("/containers/{id}/stop", post(containers::stop))
        .route("/containers/{id}/kill", post(containers::kill))
        .route("/containers/{id}/wait", post(containers::wait))
        .route("/containers/{id}/logs", get(containers::logs))
        .route("/containers/{id}/attach", post(containers::attach))
        .route("/containers/{id}/resize", post(containers::resize))
        .route("/containers/{id}/exec", post(containers::exec_create))
        .route("/containers/{id}/restart", post(containers::restart))
        .route("/containers/{id}/rename", post(containers::rename))
        .route("/containers/prune", post(containers::prune))
        .route("/exec/{id}/start", post(containers::exec_start))
        .route("/exec/{id}/resize", post(containers::exec_resize))
        .route("/exec/{id}/json", get(containers::exec_inspect))
        .route(
            "/containers/{id}/archive",
            get(container_fs::archive_get)
                .head(container_fs::archive_head)
                .put(container_fs::archive_put),
        )
        .route("/containers/{id}/stats", get(container_ops::stats))
        .route("/containers/{id}/top", get(container_ops::top))
        .route("/containers/{id}/pause", post(container_ops::pause))
        .route("/containers/{id}/unpause", post(container_ops::unpause))
        .route("/containers/{id}/update", post(container_ops::update))
        .route("/containers/{id}/export", get(container_fs::export))
        .route("/containers/{id}/changes", get(container_fs::changes))
        .route("/commit", post(container_fs::commit))
        // The builder (issue #8).
        .route("/build", post(build::build))
        .route("/build/prune", post(build::prune))
        .route(
            "/containers/{id}",
            axum::routing::delete(containers::remove),
        )
        .route("/volumes", get(volumes::list))
        .route("/volumes/create", post(volumes::create))
        .route("/volumes/prune", post(volumes::prune))
        .route(
            "/volumes/{name}",
            get(volumes::inspect).delete(volumes::remove),
        )
        // networking
        .route("/networks", get(networks::list))
        .route("/networks/create", post(networks::create))
        .route("/networks/prune", post(networks::prune))
        .route(
            "/networks/{id}",
            get(networks::inspect).delete(networks::remove),
        )
        .route("/networks/{id}/connect", post(networks::connect))
        .route("/networks/{id}/disconnect", post(networks::disconnect))
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
    tracing::debug!(method = %req.method(), uri = %req.uri(), "request");
    let (prefix, rest) = ApiVersion::split_path(req.uri().path());
    let mut version_seen = None;
    if let Some(v) = prefix {
        match v
            .parse::<ApiVersion>()
            .and_then(ApiVersion::check_supported)
        {
            Err(e) => return stamp(Error(ApiError::invalid(e.to_string())).response()),
            // health hook: handlers whose behaviour depends on the version read it here
            // (volume prune: every unused volume before 1.42, only anonymous ones since).
            Ok(version) => version_seen = Some(version),
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
    if let Some(v) = version_seen {
        req.extensions_mut().insert(v);
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

/// Image names contain slashes (`localhost:5000/team/app`), so `/images/{name}/json` cannot be
/// a plain route: split the rest of the path at its last known verb, like dockerd's
/// `{name:.*}` routes.
async fn images_dispatch(
    state: axum::extract::State<Arc<Engine>>,
    method: axum::http::Method,
    axum::extract::Path(rest): axum::extract::Path<String>,
    q: extract::QueryPairs,
    headers: axum::http::HeaderMap,
) -> Result<Response, Error> {
    use axum::extract::Path;
    use axum::response::IntoResponse;
    let verbs = ["json", "history", "tag", "get", "push"];
    let (name, verb) = match rest.rsplit_once('/') {
        Some((name, verb)) if verbs.contains(&verb) => (name.to_string(), verb),
        _ => (rest.clone(), ""),
    };
    Ok(match (method, verb) {
        (m, "json") if m == axum::http::Method::GET => {
            images::inspect(state, Path(name)).await?.into_response()
        }
        (m, "history") if m == axum::http::Method::GET => {
            images::history(state, Path(name)).await?.into_response()
        }
        (m, "tag") if m == axum::http::Method::POST => {
            images::tag(state, Path(name), q).await?.into_response()
        }
        (m, "get") if m == axum::http::Method::GET => images::save_one(state, Path(name)).await?,
        (m, "push") if m == axum::http::Method::POST => {
            registry::push(state.0, name, &q, &headers).await?
        }
        (m, "") if m == axum::http::Method::DELETE => {
            images::remove(state, Path(name), q).await?.into_response()
        }
        _ => return Err(Error(ApiError::not_found("page not found"))),
    })
}

/// `until` filter values: a Unix timestamp, RFC 3339 time or Go duration (relative to now).
pub fn parse_until(v: &str) -> Result<i64, ApiError> {
    let now = time::OffsetDateTime::now_utc();
    if let Ok(t) = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    if let Ok(n) = extract::parse_timestamp("until", v) {
        return Ok(n / 1_000_000_000);
    }
    parse_go_duration(v)
        .map(|d| (now - d).unix_timestamp())
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "invalid until value {v:?}: use a timestamp or a duration like 24h"
            ))
        })
}

fn parse_go_duration(s: &str) -> Option<time::Duration> {
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..n_end].parse().ok()?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        total += n * match &rest[..u_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            _ => return None,
        };
        rest = &rest[u_end..];
    }
    (!s.is_empty()).then(|| time::Duration::seconds_f64(total))
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
