//! The cluster's overlay network: inspect, create, remove.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Context, Result};
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest, NetworkInspect};
use bollard::query_parameters::InspectNetworkOptions;

use super::client::{Engine, daemon_message, is_not_found};
use crate::cluster::names::ClusterNames;
use crate::cluster::plan::Subnet;
use crate::error::UserError;
use crate::interrupt::Cancel;
use crate::wait::Wait;

/// How long a network may lack its subnet: the swarm allocates it a moment
/// after creation, and a removed network's local copy lingers a moment too.
const SUBNET_WAIT: Duration = Duration::from_secs(15);

/// The overlay network as it exists: its subnet and options.
#[derive(Debug, Clone)]
pub struct OverlayNetwork {
    pub subnet: Subnet,
    pub encrypted: bool,
}

/// What a new network should be.
#[derive(Debug, Clone, Copy, Default)]
pub struct NetworkOptions {
    pub subnet: Option<Subnet>,
    pub mtu: Option<u32>,
    pub encrypted: bool,
}

/// The cluster's network, once it has its subnet; None if there is none.
pub async fn inspect(
    engine: &Engine,
    names: &ClusterNames,
    cancel: &Cancel,
) -> Result<Option<OverlayNetwork>> {
    let what = format!("network {} to get its IPv4 subnet", names.network());
    Wait::new(what, SUBNET_WAIT, cancel)
        .every(Duration::from_millis(200))
        .until(async || match inspect_once(engine, names).await? {
            Seen::Missing => Ok(Some(None)),
            Seen::WithSubnet(network) => Ok(Some(Some(network))),
            Seen::WithoutSubnet => Ok(None),
        })
        .await
}

enum Seen {
    Missing,
    WithoutSubnet,
    WithSubnet(OverlayNetwork),
}

/// The cluster's network as the swarm knows it (`verbose` adds its tasks'
/// endpoints); None if there is none.
async fn inspect_swarm_network(
    engine: &Engine,
    names: &ClusterNames,
    verbose: bool,
) -> Result<Option<NetworkInspect>> {
    let options = InspectNetworkOptions {
        verbose,
        scope: Some("swarm".into()),
    };
    match engine
        .docker
        .inspect_network(&names.network(), Some(options))
        .await
    {
        Ok(network) => Ok(Some(network)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("could not inspect network {}", names.network())),
    }
}

async fn inspect_once(engine: &Engine, names: &ClusterNames) -> Result<Seen> {
    let Some(network) = inspect_swarm_network(engine, names, false).await? else {
        return Ok(Seen::Missing);
    };
    let subnet = network
        .ipam
        .and_then(|ipam| ipam.config)
        .and_then(|configs| configs.into_iter().find_map(|c| c.subnet));
    let Some(subnet) = subnet else {
        return Ok(Seen::WithoutSubnet);
    };
    Ok(Seen::WithSubnet(OverlayNetwork {
        subnet: Subnet::parse(&subnet).map_err(|e| anyhow::anyhow!(e.message))?,
        encrypted: network.options.unwrap_or_default().contains_key("encrypted"),
    }))
}

pub async fn create(
    engine: &Engine,
    names: &ClusterNames,
    wanted: NetworkOptions,
    cancel: &Cancel,
) -> Result<OverlayNetwork> {
    let mut options = HashMap::new();
    if let Some(mtu) = wanted.mtu {
        options.insert("com.docker.network.driver.mtu".to_string(), mtu.to_string());
    }
    if wanted.encrypted {
        options.insert("encrypted".to_string(), String::new());
    }
    let ipam = wanted.subnet.map(|subnet| Ipam {
        config: Some(vec![IpamConfig {
            subnet: Some(subnet.to_string()),
            ..Default::default()
        }]),
        ..Default::default()
    });
    let request = NetworkCreateRequest {
        name: names.network(),
        driver: Some("overlay".into()),
        attachable: Some(true),
        ipam,
        options: Some(options),
        labels: Some(super::labels(names)),
        ..Default::default()
    };
    engine.docker.create_network(request).await.map_err(|e| {
        UserError::usage(format!(
            "could not create the overlay network {}: {}",
            names.network(),
            daemon_message(&e)
        ))
        .hint("if the subnet overlaps another network, pick another with --subnet")
    })?;
    inspect(engine, names, cancel)
        .await?
        .context("the overlay network vanished right after it was created")
}

/// Each task's address on the cluster's network, as Docker records the
/// task's endpoint (not as the container says), by task id.
pub async fn task_addresses(engine: &Engine, names: &ClusterNames) -> Result<HashMap<String, Ipv4Addr>> {
    let Some(network) = inspect_swarm_network(engine, names, true).await? else {
        return Ok(HashMap::new());
    };
    let service = network.services.unwrap_or_default().remove(&names.service());
    let tasks = service.and_then(|s| s.get("Tasks").cloned()).unwrap_or_default();
    let tasks = tasks.as_array().cloned().unwrap_or_default();
    Ok(tasks
        .iter()
        .filter_map(|task| {
            // "swarmpi-mpi.3.<task id>"
            let id = task["Name"].as_str()?.rsplit('.').next()?.to_string();
            Some((id, task["EndpointIP"].as_str()?.parse().ok()?))
        })
        .collect())
}

/// Every IPv4 subnet of a network the manager has, but the cluster's own.
pub async fn subnets_in_use(engine: &Engine, names: &ClusterNames) -> Result<Vec<(String, Subnet)>> {
    let networks = engine
        .docker
        .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
        .await
        .context("could not list networks")?;
    Ok(networks
        .into_iter()
        .filter(|n| n.name.as_deref() != Some(names.network().as_str()))
        .flat_map(|n| {
            let name = n.name.unwrap_or_default();
            let configs = n.ipam.and_then(|i| i.config).unwrap_or_default();
            configs
                .into_iter()
                .filter_map(|c| Subnet::parse(c.subnet.as_deref()?).ok())
                .map(move |s| (name.clone(), s))
        })
        .collect())
}

/// Removes the network, retrying while the endpoints of just-stopped
/// containers go, then waits until the manager no longer lists it (a deploy
/// right after `down` must not find it). True if there was one.
pub(super) async fn remove(engine: &Engine, network: &str, limit: Duration, cancel: &Cancel) -> Result<bool> {
    let removed = Wait::new(format!("network {network}'s endpoints to go"), limit, cancel)
        .every(Duration::from_millis(500))
        .retry(async || match engine.docker.remove_network(network).await {
            Ok(()) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(e).with_context(|| format!("could not remove network {network}")),
        })
        .await?;
    if removed {
        Wait::new(format!("network {network} to be gone"), limit, cancel)
            .every(Duration::from_millis(200))
            .until(async || {
                let listed = engine
                    .docker
                    .inspect_network(network, None::<InspectNetworkOptions>)
                    .await;
                Ok(listed.is_err().then_some(()))
            })
            .await?;
    }
    Ok(removed)
}
