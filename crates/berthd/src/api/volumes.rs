//! `/volumes/...` routes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use berth_api::parse_filter_json;
use berth_api::volumes::{Volume, VolumeCreateBody, VolumeList, VolumePruneResponse};

use super::extract::{JsonBody, QueryPairs};
use super::Error;
use crate::engine::Engine;

pub async fn create(
    State(engine): State<Arc<Engine>>,
    JsonBody(body): JsonBody<VolumeCreateBody>,
) -> Result<(StatusCode, Json<Volume>), Error> {
    Ok((StatusCode::CREATED, Json(engine.create_volume(body)?)))
}

pub async fn list(
    State(engine): State<Arc<Engine>>,
    q: QueryPairs,
) -> Result<Json<VolumeList>, Error> {
    let filters = parse_filter_json(q.get("filters").unwrap_or(""))?;
    Ok(Json(engine.list_volumes(&filters)?))
}

pub async fn inspect(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
) -> Result<Json<Volume>, Error> {
    Ok(Json(engine.inspect_volume(&name)?))
}

pub async fn remove(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
    q: QueryPairs,
) -> Result<StatusCode, Error> {
    engine.remove_volume(&name, q.bool("force"))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn prune(
    State(engine): State<Arc<Engine>>,
    version: Option<axum::Extension<berth_api::ApiVersion>>,
    q: QueryPairs,
) -> Result<Json<VolumePruneResponse>, Error> {
    let mut filters = parse_filter_json(q.get("filters").unwrap_or(""))?;
    // health hook (system prune): before API 1.42 a prune removed every unused volume,
    // named ones too (dockerd adds `all=true` for such clients, e.g. docker 20.10).
    if version.is_some_and(|v| v.0 < berth_api::ApiVersion::new(1, 42)) {
        filters
            .entry("all".to_string())
            .or_insert_with(|| vec!["true".to_string()]);
    }
    Ok(Json(engine.prune_volumes(&filters)?))
}
