//! `/_ping`, `/version`, `/info`, `/events`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::models::{SystemInfo, SystemVersion};
use berth_api::{Event, EventFilters};
use bytes::Bytes;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::extract::{parse_timestamp, Query};
use super::Error;
use crate::engine::Engine;

fn ping_headers(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    // "1": the classic builder (`POST /build`); clients must not try BuildKit sessions.
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    h.insert("Swarm", HeaderValue::from_static("inactive"));
}

pub async fn ping() -> Response {
    let mut resp = "OK".into_response();
    ping_headers(&mut resp);
    resp
}

pub async fn ping_head() -> Response {
    let mut resp = Body::empty().into_response();
    ping_headers(&mut resp);
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    resp
}

pub async fn version(State(engine): State<Arc<Engine>>) -> Json<SystemVersion> {
    Json(engine.version())
}

pub async fn info(State(engine): State<Arc<Engine>>) -> Json<SystemInfo> {
    Json(engine.info())
}

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    since: Option<String>,
    until: Option<String>,
    filters: Option<String>,
}

/// Streams events as newline-delimited JSON: the buffered ones since `since`, then live ones
/// until `until` (or until the client leaves or the daemon stops).
pub async fn events(
    State(engine): State<Arc<Engine>>,
    Query(q): Query<EventsQuery>,
) -> Result<Response, Error> {
    let filters = EventFilters::parse(q.filters.as_deref().unwrap_or(""))?;
    let since = q
        .since
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| parse_timestamp("since", s))
        .transpose()?;
    let until = q
        .until
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| parse_timestamp("until", s))
        .transpose()?;
    // dockerd rejects `since` after `until` with a 400; berth answers the empty range
    // instead, so `docker events --since 1s --until 2s` (both relative to now, so reversed)
    // ends cleanly. See docs/api-compat.md.
    let empty_range = matches!((since, until), (Some(s), Some(u)) if u < s);
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64;
    let only_past = empty_range || until.is_some_and(|u| u < now);

    let (history, mut live) = engine.events.subscribe();
    let buffered: Vec<Arc<Event>> = if empty_range || (since.is_none() && until.is_none()) {
        Vec::new()
    } else {
        history
            .into_iter()
            .filter(|e| e.time_nano() >= since.unwrap_or(0))
            .filter(|e| until.is_none_or(|u| e.time_nano() <= u))
            .filter(|e| filters.matches(e))
            .collect()
    };

    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(64);
    let mut shutdown = engine.shutdown_signal();
    tokio::spawn(async move {
        for e in buffered {
            if tx.send(Ok(encode(&e))).await.is_err() {
                return;
            }
        }
        if only_past {
            return;
        }
        let deadline = until.map(|u| {
            let wait = u.saturating_sub(now).max(0) as u64;
            tokio::time::Instant::now() + std::time::Duration::from_nanos(wait)
        });
        loop {
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = live.recv() => match received {
                    Ok(e) => {
                        if filters.matches(&e) && tx.send(Ok(encode(&e))).await.is_err() {
                            return;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(skipped = n, "events subscriber too slow; events dropped");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = sleep => return,
                _ = tx.closed() => return,
                _ = crate::engine::stopped(&mut shutdown) => return,
            }
        }
    });
    let mut resp =
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

fn encode(e: &Event) -> Bytes {
    let mut v = serde_json::to_vec(e).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

/// `GET /system/df` in the API 1.41–1.47 shape.
pub async fn df(State(engine): State<Arc<Engine>>) -> Result<Json<serde_json::Value>, Error> {
    let (layers_size, images) = engine.images_disk_usage()?;
    let containers = engine.list_containers(&crate::engine::containers::ListOptions {
        all: true,
        size: true,
        ..Default::default()
    })?;
    Ok(Json(serde_json::json!({
        "LayersSize": layers_size,
        "Images": images,
        "Containers": containers,
        "Volumes": engine.volumes_disk_usage()?,
        "BuildCache": [],
    })))
}

/// `GET /berth/system/check` (a berth extension): the start-up consistency check as a dry
/// run: what it would repair now.
pub async fn check(
    State(engine): State<Arc<Engine>>,
) -> Result<Json<crate::engine::check::CheckReport>, Error> {
    let report = tokio::task::spawn_blocking(move || engine.check_data_root(false))
        .await
        .map_err(|e| berth_api::ApiError::internal(e.to_string()))?;
    Ok(Json(report))
}
