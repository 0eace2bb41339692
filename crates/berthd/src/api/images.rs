//! `/images/...` routes.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::images::{
    HistoryItem, ImageDeleteItem, ImageInspect, ImagePruneResponse, ImageSummary, JsonMessage,
};
use berth_api::{parse_filter_json, ApiError};

use super::extract::{body_reader, QueryPairs};
use super::Error;
use crate::engine::images::{ImportOptions, ListOptions};
use crate::engine::Engine;

pub async fn list(
    State(engine): State<Arc<Engine>>,
    q: QueryPairs,
) -> Result<Json<Vec<ImageSummary>>, Error> {
    let mut filters = parse_filter_json(q.get("filters").unwrap_or(""))?;
    // API < 1.25 passed a name as `filter`.
    if let Some(f) = q.get("filter").filter(|f| !f.is_empty()) {
        filters
            .entry("reference".into())
            .or_default()
            .push(f.to_string());
    }
    let opts = ListOptions {
        filters,
        shared_size: q.bool("shared-size"),
        all: q.bool("all"),
    };
    Ok(Json(engine.list_images(&opts)?))
}

pub async fn inspect(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
) -> Result<Json<ImageInspect>, Error> {
    Ok(Json(engine.inspect_image(&name)?))
}

pub async fn history(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
) -> Result<Json<Vec<HistoryItem>>, Error> {
    Ok(Json(engine.image_history(&name)?))
}

pub async fn tag(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
    q: QueryPairs,
) -> Result<StatusCode, Error> {
    let repo = q
        .get("repo")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::invalid("repo is required"))?;
    engine.tag_image(&name, repo, q.get("tag")).await?;
    Ok(StatusCode::CREATED)
}

pub async fn remove(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
    q: QueryPairs,
) -> Result<Json<Vec<ImageDeleteItem>>, Error> {
    Ok(Json(engine.remove_image(&name, q.bool("force")).await?))
}

pub async fn prune(
    State(engine): State<Arc<Engine>>,
    q: QueryPairs,
) -> Result<Json<ImagePruneResponse>, Error> {
    let filters = parse_filter_json(q.get("filters").unwrap_or(""))?;
    Ok(Json(engine.prune_images(&filters).await?))
}

/// `POST /images/create`: `fromSrc=-` imports the body; `fromImage` pulls from a registry.
pub async fn create(
    State(engine): State<Arc<Engine>>,
    q: QueryPairs,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<Response, Error> {
    match (q.get("fromSrc"), q.get("fromImage")) {
        (Some("-"), _) => {}
        (Some(src), _) => {
            return Err(ApiError::invalid(format!(
                "importing from {src:?} is not supported: download it and import it from stdin (fromSrc=-)"
            ))
            .into())
        }
        (None, Some(_)) => return super::registry::pull(engine, &q, &headers).await,
        (None, None) => return Err(ApiError::invalid("fromSrc or fromImage is required").into()),
    }
    let opts = ImportOptions {
        repo: q.get("repo").map(str::to_string),
        tag: q.get("tag").map(str::to_string),
        message: q.get("message").map(str::to_string),
        changes: q.get_all("changes"),
    };
    let id = engine.import_image(body_reader(body), opts).await?;
    Ok(json_lines(&[JsonMessage::status(id)]))
}

pub async fn load(State(engine): State<Arc<Engine>>, body: Body) -> Result<Response, Error> {
    let lines = engine.load_images(body_reader(body)).await?;
    Ok(json_lines(&lines))
}

pub async fn save_one(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
) -> Result<Response, Error> {
    save(engine, vec![name])
}

pub async fn save_many(
    State(engine): State<Arc<Engine>>,
    q: QueryPairs,
) -> Result<Response, Error> {
    save(engine, q.get_all("names"))
}

fn save(engine: Arc<Engine>, names: Vec<String>) -> Result<Response, Error> {
    let reader = engine.save_images(&names)?;
    let mut resp = Body::from_stream(tokio_util::io::ReaderStream::new(reader)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    Ok(resp)
}

/// A finished JSON message stream (`\r\n`-separated, as dockerd sends them).
fn json_lines(lines: &[JsonMessage]) -> Response {
    let body: Vec<u8> = lines.iter().flat_map(JsonMessage::to_line).collect();
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
