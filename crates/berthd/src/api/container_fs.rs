//! Container filesystem routes: `/containers/{id}/archive` (`docker cp`, HEAD/GET/PUT),
//! `/containers/{id}/export`, `/containers/{id}/changes` (`docker diff`) and `/commit`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use berth_api::ApiError;
use berth_store::archive::PathStat;
use serde_json::{json, Value};

use super::extract::{body_reader, JsonBody, QueryPairs};
use super::Error;
use crate::engine::containers::{Change, CommitOptions, ExtractRequest};
use crate::engine::Engine;

const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

fn path_param(q: &QueryPairs) -> Result<String, Error> {
    match q.get("path") {
        Some(p) if !p.is_empty() => Ok(p.to_string()),
        _ => Err(ApiError::invalid("bad parameter: path cannot be empty").into()),
    }
}

/// The stat header: base64 of dockerd's `ContainerPathStat` JSON.
fn stat_header(st: &PathStat) -> HeaderValue {
    let mtime = time::OffsetDateTime::from_unix_timestamp(st.mtime.0)
        .ok()
        .and_then(|t| t.replace_nanosecond(st.mtime.1).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let body = json!({
        "name": st.name,
        "size": st.size,
        "mode": st.mode,
        "mtime": mtime,
        "linkTarget": st.link_target,
    });
    let encoded = base64::engine::general_purpose::STANDARD.encode(body.to_string());
    HeaderValue::from_str(&encoded).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `HEAD /containers/{id}/archive?path=`: only the stat header.
pub async fn archive_head(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Response, Error> {
    let path = path_param(&q)?;
    let st = engine.stat_container_path(&id, &path).await?;
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut().insert(STAT_HEADER, stat_header(&st));
    Ok(resp)
}

/// `GET /containers/{id}/archive?path=`: a tar of the path, with the stat header.
pub async fn archive_get(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Response, Error> {
    let path = path_param(&q)?;
    let (st, reader) = engine.archive_container_path(&id, &path).await?;
    let mut resp = Body::from_stream(tokio_util::io::ReaderStream::new(reader)).into_response();
    let h = resp.headers_mut();
    h.insert(STAT_HEADER, stat_header(&st));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    Ok(resp)
}

/// `PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=&copyUIDGID=`: extract the
/// body (a tar, possibly compressed) into a directory of the container.
pub async fn archive_put(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
    body: Body,
) -> Result<StatusCode, Error> {
    let req = ExtractRequest {
        path: path_param(&q)?,
        no_overwrite_dir_non_dir: q.bool("noOverwriteDirNonDir"),
        copy_uid_gid: q.bool("copyUIDGID"),
    };
    engine
        .extract_to_container(&id, req, body_reader(body))
        .await?;
    Ok(StatusCode::OK)
}

/// `GET /containers/{id}/export`: the flattened root filesystem as a tar.
pub async fn export(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let reader = engine.export_container(&id).await?;
    let mut resp = Body::from_stream(tokio_util::io::ReaderStream::new(reader)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    Ok(resp)
}

/// `GET /containers/{id}/changes`.
pub async fn changes(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Change>>, Error> {
    Ok(Json(engine.container_changes(&id).await?))
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=`, with an optional
/// container config as the body.
pub async fn commit(
    State(engine): State<Arc<Engine>>,
    q: QueryPairs,
    JsonBody(config): JsonBody<Option<Value>>,
) -> Result<(StatusCode, Json<Value>), Error> {
    let container = q
        .get("container")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::invalid("No container name or ID supplied"))?;
    // An empty object is "no config", like an absent body.
    let config = config.filter(|v| !(v.is_null() || v.as_object().is_some_and(|o| o.is_empty())));
    let opts = CommitOptions {
        container: container.to_string(),
        repo: q.get("repo").map(str::to_string),
        tag: q.get("tag").map(str::to_string),
        comment: q.get("comment").unwrap_or("").to_string(),
        author: q.get("author").unwrap_or("").to_string(),
        changes: q.get_all("changes"),
        config,
    };
    let id = engine.commit_container(opts).await?;
    Ok((StatusCode::CREATED, Json(json!({ "Id": id }))))
}
