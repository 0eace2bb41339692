//! `DELETE /networks/{id}` and `POST /networks/prune`.

use berth_api::ApiError;
use berth_store::NetworkRecord;

use super::inspect::ListFilters;
use super::{forbidden, is_predefined, net_err};
use crate::engine::images::store_err;
use crate::engine::Engine;

impl Engine {
    pub async fn remove_network(&self, term: &str) -> Result<(), ApiError> {
        let n = self.resolve_network(term)?;
        if is_predefined(&n.name) {
            return Err(forbidden(format!(
                "{} is a pre-defined network and cannot be removed",
                n.name
            )));
        }
        let _g = self.net.lock.lock().await;
        if self.network_in_use(&n.id) {
            return Err(forbidden(format!(
                "error while removing network: network {} id {} has active endpoints",
                n.name, n.id
            )));
        }
        self.remove_network_locked(&n).await
    }

    async fn remove_network_locked(&self, n: &NetworkRecord) -> Result<(), ApiError> {
        self.db().delete_network(&n.id).map_err(store_err)?;
        if n.driver == "bridge" {
            berth_net::link::delete(None, &self.bridge_name(n))
                .await
                .map_err(net_err)?;
            self.sync_firewall().await?;
        }
        self.network_event("destroy", n, None);
        Ok(())
    }

    /// Removes every user-defined network no running container uses; returns their names.
    pub async fn prune_networks(&self, filters: &ListFilters) -> Result<Vec<String>, ApiError> {
        if let Some(bad) = filters
            .keys()
            .find(|k| *k != "until" && *k != "label" && *k != "label!")
        {
            return Err(ApiError::invalid(format!("invalid filter '{bad}'")));
        }
        let until = filters
            .get("until")
            .and_then(|v| v.first())
            .map(|v| crate::api::parse_until(v))
            .transpose()?;
        let _g = self.net.lock.lock().await;
        let mut gone = Vec::new();
        for n in self.db().networks().map_err(store_err)? {
            if is_predefined(&n.name) || self.network_in_use(&n.id) {
                continue;
            }
            if until.is_some_and(|u| n.created / 1_000_000_000 >= u) {
                continue;
            }
            let label_ok =
                filters
                    .get("label")
                    .into_iter()
                    .flatten()
                    .all(|l| match l.split_once('=') {
                        Some((k, v)) => n.labels.get(k).is_some_and(|x| x == v),
                        None => n.labels.contains_key(l.as_str()),
                    })
                    && filters.get("label!").into_iter().flatten().all(|l| {
                        match l.split_once('=') {
                            Some((k, v)) => n.labels.get(k).is_none_or(|x| x != v),
                            None => !n.labels.contains_key(l.as_str()),
                        }
                    });
            if !label_ok {
                continue;
            }
            self.remove_network_locked(&n).await?;
            gone.push(n.name);
        }
        Ok(gone)
    }
}
