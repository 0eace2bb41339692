//! Links through netlink (`rtnetlink`): bridges with their gateway address, veth pairs whose
//! inner end moves into a container's namespace, macvlan links on a parent interface,
//! addresses, the default route and MTU inside the namespace.
//!
//! Every operation runs on a short-lived thread (see [`crate::netns::run_in`]) with its own
//! netlink socket opened in the right namespace: the socket's namespace is fixed when it
//! is created, so opening it after `setns` is what aims it.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use futures_util::TryStreamExt;
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage, MacVlanMode};
use rtnetlink::{Handle, LinkBridge, LinkMacVlan, LinkUnspec, LinkVeth, RouteMessageBuilder};

use crate::cidr::Ipv4Cidr;
use crate::error::{NetError, Result};
use crate::netns;

const EEXIST: i32 = 17;
const ENODEV: i32 = 19;

fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
        _ => None,
    }
}

/// Runs `f` with a netlink handle in the namespace `ns` (the daemon's own when None).
pub async fn with_netlink<T, F, Fut>(ns: Option<PathBuf>, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(Handle) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T>>,
{
    netns::run_in(ns, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| NetError::Internal(format!("cannot start a netlink runtime: {e}")))?;
        rt.block_on(async move {
            let (conn, handle, _) = rtnetlink::new_connection()
                .map_err(|e| NetError::Internal(format!("cannot open a netlink socket: {e}")))?;
            let task = tokio::spawn(conn);
            let out = f(handle).await;
            task.abort();
            out
        })
    })
    .await
}

/// A link as listed: index, name, kind (`bridge`, `veth`, ...), controller (bridge) index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfoSummary {
    pub index: u32,
    pub name: String,
    pub kind: Option<String>,
    pub controller: Option<u32>,
}

fn summarize(m: &LinkMessage) -> LinkInfoSummary {
    let mut s = LinkInfoSummary {
        index: m.header.index,
        name: String::new(),
        kind: None,
        controller: None,
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => s.name = n.clone(),
            LinkAttribute::Controller(c) => s.controller = Some(*c),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        s.kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    s
}

/// Every link of the handle's namespace.
pub async fn list(h: &Handle) -> Result<Vec<LinkInfoSummary>> {
    let msgs: Vec<LinkMessage> = h
        .link()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(|e| NetError::netlink("cannot list links", e))?;
    Ok(msgs.iter().map(summarize).collect())
}

/// The index of the link called `name`, if there is one.
pub async fn index_of(h: &Handle, name: &str) -> Result<Option<u32>> {
    let mut s = h.link().get().match_name(name.to_string()).execute();
    match s.try_next().await {
        Ok(Some(m)) => Ok(Some(m.header.index)),
        Ok(None) => Ok(None),
        Err(e) if errno(&e) == Some(ENODEV) => Ok(None),
        Err(e) => Err(NetError::netlink(format!("cannot look up link {name}"), e)),
    }
}

async fn require(h: &Handle, name: &str) -> Result<u32> {
    index_of(h, name)
        .await?
        .ok_or_else(|| NetError::NotFound(format!("no such link: {name}")))
}

async fn add_addr(h: &Handle, index: u32, ip: Ipv4Addr, prefix: u8, what: &str) -> Result<()> {
    match h
        .address()
        .add(index, IpAddr::V4(ip), prefix)
        .execute()
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if errno(&e) == Some(EEXIST) => Ok(()),
        Err(e) => Err(NetError::netlink(
            format!("cannot add {ip}/{prefix} to {what}"),
            e,
        )),
    }
}

/// Creates (or keeps) the bridge `name`, with `gateway` (`172.18.0.1/16`) as its address,
/// and brings it up. An existing bridge keeps its other settings.
pub async fn ensure_bridge(name: &str, gateway: Ipv4Cidr, mtu: Option<u32>) -> Result<()> {
    let name = name.to_string();
    with_netlink(None, move |h| async move {
        let index = match index_of(&h, &name).await? {
            Some(i) => i,
            None => {
                let mut b = LinkBridge::new(&name);
                if let Some(m) = mtu {
                    b = b.mtu(m);
                }
                match h.link().add(b.build()).execute().await {
                    Ok(()) => {}
                    Err(e) if errno(&e) == Some(EEXIST) => {}
                    Err(e) => {
                        return Err(NetError::netlink(format!("cannot create bridge {name}"), e))
                    }
                }
                require(&h, &name).await?
            }
        };
        add_addr(&h, index, gateway.addr(), gateway.prefix(), &name).await?;
        h.link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(|e| NetError::netlink(format!("cannot bring {name} up"), e))
    })
    .await
}

/// Deletes the link `name` in namespace `ns` (host when None); gone already is fine.
pub async fn delete(ns: Option<PathBuf>, name: &str) -> Result<()> {
    let name = name.to_string();
    with_netlink(ns, move |h| async move {
        let Some(index) = index_of(&h, &name).await? else {
            return Ok(());
        };
        match h.link().del(index).execute().await {
            Ok(()) => Ok(()),
            Err(e) if errno(&e) == Some(ENODEV) => Ok(()),
            Err(e) => Err(NetError::netlink(format!("cannot delete link {name}"), e)),
        }
    })
    .await
}

/// The names of the links enslaved to bridge `bridge` in the host namespace.
pub async fn bridge_ports(bridge: &str) -> Result<Vec<String>> {
    let bridge = bridge.to_string();
    with_netlink(None, move |h| async move {
        let Some(index) = index_of(&h, &bridge).await? else {
            return Ok(Vec::new());
        };
        Ok(list(&h)
            .await?
            .into_iter()
            .filter(|l| l.controller == Some(index))
            .map(|l| l.name)
            .collect())
    })
    .await
}

/// How an interface inside a container's namespace is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceSpec {
    /// Its name inside the namespace (`eth0`, `eth1`, ...).
    pub name: String,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub mac: [u8; 6],
    pub mtu: Option<u32>,
    /// Install a default route through this gateway.
    pub gateway: Option<Ipv4Addr>,
}

/// Creates a veth pair: `host_if` joins `bridge` in the host namespace, its peer moves into
/// the namespace `ns` as `iface.name`, configured per `iface`.
pub async fn attach_veth(ns: &Path, bridge: &str, host_if: &str, iface: &IfaceSpec) -> Result<()> {
    let (bridge, host_if, peer) = (
        bridge.to_string(),
        host_if.to_string(),
        format!("vp{}", hex::encode(rand::random::<[u8; 4]>())),
    );
    let ns_file = std::fs::File::open(ns).map_err(|e| NetError::io("cannot open", ns, e))?;
    let iface2 = iface.clone();
    let peer2 = peer.clone();
    with_netlink(None, move |h| async move {
        let br = require(&h, &bridge).await?;
        let mut v = LinkVeth::new(&host_if, &peer2);
        if let Some(m) = iface2.mtu {
            v = v.mtu(m);
        }
        h.link()
            .add(v.build())
            .execute()
            .await
            .map_err(|e| NetError::netlink(format!("cannot create veth {host_if}"), e))?;
        let result = async {
            let hi = require(&h, &host_if).await?;
            h.link()
                .set(LinkUnspec::new_with_index(hi).controller(br).up().build())
                .execute()
                .await
                .map_err(|e| NetError::netlink(format!("cannot add {host_if} to {bridge}"), e))?;
            let pi = require(&h, &peer2).await?;
            h.link()
                .set(
                    LinkUnspec::new_with_index(pi)
                        .setns_by_fd(ns_file.as_raw_fd())
                        .build(),
                )
                .execute()
                .await
                .map_err(|e| NetError::netlink("cannot move the veth into the container", e))
        }
        .await;
        if result.is_err() {
            if let Ok(Some(i)) = index_of(&h, &host_if).await {
                let _ = h.link().del(i).execute().await;
            }
        }
        result
    })
    .await?;
    configure_inside(ns, &peer, iface).await
}

/// Creates a macvlan link (bridge mode) on `parent` and moves it into `ns` as `iface.name`.
pub async fn attach_macvlan(ns: &Path, parent: &str, iface: &IfaceSpec) -> Result<()> {
    let parent = parent.to_string();
    let tmp = format!("mv{}", hex::encode(rand::random::<[u8; 4]>()));
    let ns_file = std::fs::File::open(ns).map_err(|e| NetError::io("cannot open", ns, e))?;
    let tmp2 = tmp.clone();
    let mtu = iface.mtu;
    with_netlink(None, move |h| async move {
        let pi = index_of(&h, &parent).await?.ok_or_else(|| {
            NetError::NotFound(format!(
                "-o parent interface was not found on the host: {parent}"
            ))
        })?;
        let mut m = LinkMacVlan::new(&tmp2, pi, MacVlanMode::Bridge);
        if let Some(mtu) = mtu {
            m = m.mtu(mtu);
        }
        h.link().add(m.build()).execute().await.map_err(|e| {
            NetError::netlink(format!("cannot create a macvlan link on {parent}"), e)
        })?;
        let i = require(&h, &tmp2).await?;
        let moved = h
            .link()
            .set(
                LinkUnspec::new_with_index(i)
                    .setns_by_fd(ns_file.as_raw_fd())
                    .build(),
            )
            .execute()
            .await;
        if let Err(e) = moved {
            let _ = h.link().del(i).execute().await;
            return Err(NetError::netlink(
                "cannot move the macvlan link into the container",
                e,
            ));
        }
        Ok(())
    })
    .await?;
    configure_inside(ns, &tmp, iface).await
}

/// Inside `ns`: renames `current` to the spec's name, sets MAC and MTU, adds the address,
/// brings it and `lo` up, and adds the default route.
async fn configure_inside(ns: &Path, current: &str, iface: &IfaceSpec) -> Result<()> {
    let (current, iface) = (current.to_string(), iface.clone());
    with_netlink(Some(ns.to_path_buf()), move |h| async move {
        let i = require(&h, &current).await?;
        let mut set = LinkUnspec::new_with_index(i)
            .name(iface.name.clone())
            .address(iface.mac.to_vec());
        if let Some(m) = iface.mtu {
            set = set.mtu(m);
        }
        h.link()
            .set(set.build())
            .execute()
            .await
            .map_err(|e| NetError::netlink(format!("cannot set up {}", iface.name), e))?;
        add_addr(&h, i, iface.ip, iface.prefix, &iface.name).await?;
        h.link()
            .set(LinkUnspec::new_with_index(i).up().build())
            .execute()
            .await
            .map_err(|e| NetError::netlink(format!("cannot bring {} up", iface.name), e))?;
        loopback_up_with(&h).await?;
        if let Some(gw) = iface.gateway {
            let route = RouteMessageBuilder::<Ipv4Addr>::new()
                .gateway(gw)
                .output_interface(i)
                .build();
            match h.route().add(route).execute().await {
                Ok(()) => {}
                Err(e) if errno(&e) == Some(EEXIST) => {}
                Err(e) => return Err(NetError::netlink("cannot add the default route", e)),
            }
        }
        Ok(())
    })
    .await
}

async fn loopback_up_with(h: &Handle) -> Result<()> {
    let lo = require(h, "lo").await?;
    h.link()
        .set(LinkUnspec::new_with_index(lo).up().build())
        .execute()
        .await
        .map_err(|e| NetError::netlink("cannot bring lo up", e))
}

/// Brings `lo` up in `ns` (a `none` container still has a working loopback).
pub async fn loopback_up(ns: &Path) -> Result<()> {
    with_netlink(Some(ns.to_path_buf()), |h| async move {
        loopback_up_with(&h).await
    })
    .await
}

/// The names of the interfaces in `ns` (for picking the next `ethN`).
pub async fn names_in(ns: &Path) -> Result<Vec<String>> {
    with_netlink(Some(ns.to_path_buf()), |h| async move {
        Ok(list(&h).await?.into_iter().map(|l| l.name).collect())
    })
    .await
}

/// Whether `kind` is what [`list`] reports for a bridge.
pub fn is_bridge(l: &LinkInfoSummary) -> bool {
    l.kind.as_deref() == Some(&InfoKind::Bridge.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn veth_into_a_namespace() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        // Everything happens inside a private "host" namespace, so the real host's links
        // are never touched.
        let dir = tempfile::tempdir().unwrap();
        let host = dir.path().join("host");
        let ctr = dir.path().join("ctr");
        netns::create(&host).unwrap();
        netns::create(&ctr).unwrap();
        let (h2, c2) = (host.clone(), ctr.clone());
        let res = netns::run_in(Some(host.clone()), move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                // New threads inherit their creator's namespace, so the helpers' "host"
                // (None) is this private namespace.
                let _ = h2;
                ensure_bridge("brt0", "10.99.0.1/24".parse().unwrap(), Some(1400)).await?;
                ensure_bridge("brt0", "10.99.0.1/24".parse().unwrap(), None).await?;
                let spec = IfaceSpec {
                    name: "eth0".into(),
                    ip: "10.99.0.2".parse().unwrap(),
                    prefix: 24,
                    mac: crate::ipam::mac_for("10.99.0.2".parse().unwrap()),
                    mtu: Some(1400),
                    gateway: Some("10.99.0.1".parse().unwrap()),
                };
                attach_veth(&c2, "brt0", "vethtest0", &spec).await?;
                let ports = bridge_ports("brt0").await?;
                let inside = names_in(&c2).await?;
                delete(None, "vethtest0").await?;
                let after = bridge_ports("brt0").await?;
                delete(None, "brt0").await?;
                delete(None, "brt0").await?;
                Ok((ports, inside, after))
            })
        })
        .await;
        netns::remove(&ctr).unwrap();
        netns::remove(&host).unwrap();
        let (ports, inside, after) = res.unwrap();
        assert_eq!(ports, vec!["vethtest0".to_string()]);
        assert!(inside.contains(&"eth0".to_string()), "{inside:?}");
        assert!(after.is_empty());
    }
}
