//! `/networks/...` routes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use berth_api::parse_filter_json;
use serde_json::{json, Value};

use super::extract::{JsonBody, QueryPairs};
use super::Error;
use crate::engine::networks::{ConnectBody, DisconnectBody, NetworkCreateBody};
use crate::engine::Engine;

pub async fn list(State(engine): State<Arc<Engine>>, q: QueryPairs) -> Result<Json<Value>, Error> {
    let filters = parse_filter_json(q.get("filters").unwrap_or(""))?;
    Ok(Json(json!(engine.list_networks(&filters)?)))
}

pub async fn inspect(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    Ok(Json(engine.inspect_network(&id)?))
}

pub async fn create(
    State(engine): State<Arc<Engine>>,
    JsonBody(body): JsonBody<NetworkCreateBody>,
) -> Result<(StatusCode, Json<Value>), Error> {
    let id = engine.create_network(body).await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id, "Warning": ""}))))
}

pub async fn remove(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    engine.remove_network(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn prune(State(engine): State<Arc<Engine>>, q: QueryPairs) -> Result<Json<Value>, Error> {
    let filters = parse_filter_json(q.get("filters").unwrap_or(""))?;
    let gone = engine.prune_networks(&filters).await?;
    Ok(Json(json!({ "NetworksDeleted": gone })))
}

pub async fn connect(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ConnectBody>,
) -> Result<StatusCode, Error> {
    engine.connect_network(&id, body).await?;
    Ok(StatusCode::OK)
}

pub async fn disconnect(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DisconnectBody>,
) -> Result<StatusCode, Error> {
    engine.disconnect_network(&id, body).await?;
    Ok(StatusCode::OK)
}
