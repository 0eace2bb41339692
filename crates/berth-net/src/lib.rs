//! # berth-net
//!
//! Host network plumbing for berth's containers, and nothing above it:
//!
//! - [`cidr`], [`ipam`]: IPv4 subnets and which address an endpoint gets (the daemon
//!   persists allocations; this crate only computes);
//! - [`ports`]: published-port specs and requests;
//! - [`netns`]: network namespaces pinned as files, and running code inside one;
//! - [`link`]: bridges, veth pairs, macvlan links, addresses, routes and MTU (netlink,
//!   through `rtnetlink`);
//! - [`firewall`]: outbound NAT, port DNAT and isolation rules in berth's own nftables
//!   table (or `BERTH-*` iptables chains where `nft` is missing), rebuilt whole from a
//!   model on every change; never touching anyone else's rules;
//! - [`proxy`]: the userland proxy that serves published ports to the host's own loopback;
//! - [`dns`]: the embedded DNS server (Docker's `127.0.0.11`) for user-defined networks;
//! - [`sysctl`]: turning on `ip_forward`.
//!
//! It knows nothing of the Docker API, the database or containers: berthd's engine decides
//! what should exist and calls in here to make it so.

pub mod cidr;
pub mod dns;
mod error;
pub mod firewall;
pub mod ipam;
pub mod link;
pub mod netns;
pub mod ports;
pub mod proxy;
pub mod sysctl;

pub use cidr::Ipv4Cidr;
pub use error::{NetError, Result};
