//! `POST /networks/{id}/connect` and `/disconnect`: a container joins or leaves a network;
//! a running one gets (or loses) its interface at once.

use std::path::PathBuf;

use berth_api::ApiError;
use berth_store::EndpointRecord;
use serde::Deserialize;

use super::container::{check_endpoint_config, EndpointConfig};
use super::{forbidden, new_id};
use crate::engine::images::store_err;
use crate::engine::Engine;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConnectBody {
    pub container: String,
    pub endpoint_config: Option<EndpointConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DisconnectBody {
    pub container: String,
    pub force: bool,
}

impl Engine {
    pub async fn connect_network(&self, term: &str, body: ConnectBody) -> Result<(), ApiError> {
        let n = self.resolve_network(term)?;
        let c = self.resolve_container(&body.container)?;
        let cfg = body.endpoint_config.unwrap_or_default();
        if matches!(n.driver.as_str(), "host" | "null") {
            return Err(forbidden(
                "container cannot be disconnected from host network or connected to host network",
            ));
        }
        check_endpoint_config(&n, &cfg)?;
        let _g = self.net.lock.lock().await;
        let mine = self.db().container_endpoints(&c.id).map_err(store_err)?;
        if mine.iter().any(|e| e.network_id == n.id) {
            return Err(forbidden(format!(
                "endpoint with name {} already exists in network {}",
                c.name, n.name
            )));
        }
        if mine.iter().any(|e| {
            self.db()
                .network(&e.network_id)
                .ok()
                .flatten()
                .is_some_and(|o| matches!(o.driver.as_str(), "host" | "null"))
        }) {
            return Err(forbidden(
                "container sharing network namespace with another container or host cannot be connected to any other network",
            ));
        }
        let mut e = EndpointRecord {
            container_id: c.id.clone(),
            network_id: n.id.clone(),
            config: serde_json::to_string(&cfg).map_err(|e| ApiError::internal(e.to_string()))?,
            ..Default::default()
        };
        self.db().put_endpoint(&e).map_err(store_err)?;
        let sandbox = self.db().sandbox(&c.id).map_err(store_err)?;
        if let Some(sb) = sandbox.filter(|s| !s.netns.is_empty()) {
            let ns = PathBuf::from(&sb.netns);
            let index = berth_net::link::names_in(&ns)
                .await
                .map(|names| names.iter().filter(|n| n.starts_with("eth")).count())
                .unwrap_or(mine.len());
            e.endpoint_id = new_id();
            let attached = self.attach_endpoint(&ns, &mut e, &n, index, false).await;
            if let Err(err) = attached {
                if !e.host_if.is_empty() {
                    let _ = berth_net::link::delete(None, &e.host_if).await;
                }
                let _ = self.db().delete_endpoint(&c.id, &n.id);
                return Err(err);
            }
            if !super::is_predefined(&n.name)
                && self
                    .net
                    .live()
                    .get(&c.id)
                    .is_none_or(|l| l.dns_server.is_none())
            {
                let hc: berth_runtime::HostConfig =
                    serde_json::from_str(&c.host_config).unwrap_or_default();
                if let Ok(d) = self.start_dns(&c.id, &ns, &hc).await {
                    self.net.live().entry(c.id.clone()).or_default().dns_server = Some(d);
                }
            }
            self.sync_firewall().await?;
        }
        self.network_event("connect", &n, Some(&c.id));
        Ok(())
    }

    pub async fn disconnect_network(
        &self,
        term: &str,
        body: DisconnectBody,
    ) -> Result<(), ApiError> {
        let n = self.resolve_network(term)?;
        let c = match self.resolve_container(&body.container) {
            Ok(c) => c,
            Err(_) if body.force => return Ok(()),
            Err(e) => return Err(e),
        };
        let _g = self.net.lock.lock().await;
        let Some(e) = self
            .db()
            .container_endpoints(&c.id)
            .map_err(store_err)?
            .into_iter()
            .find(|e| e.network_id == n.id)
        else {
            return Err(forbidden(format!(
                "container {} is not connected to network {}",
                c.id, n.name
            )));
        };
        if !e.host_if.is_empty() {
            let _ = berth_net::link::delete(None, &e.host_if).await;
        } else if !e.ifname.is_empty() {
            if let Some(sb) = self.db().sandbox(&c.id).map_err(store_err)? {
                let _ = berth_net::link::delete(Some(PathBuf::from(sb.netns)), &e.ifname).await;
            }
        }
        self.db().delete_endpoint(&c.id, &n.id).map_err(store_err)?;
        self.sync_firewall().await?;
        self.network_event("disconnect", &n, Some(&c.id));
        Ok(())
    }
}
