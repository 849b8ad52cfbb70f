//! Removing a cluster from the swarm: its service (and every container, on
//! every server that answers), gateway, network and secrets. Each step runs
//! whatever the others did; what could not be removed is listed with why.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Result;
use bollard::query_parameters::ListContainersOptionsBuilder;

use super::client::Engine;
use super::{gateway, membership, network, secret, service};
use crate::cluster::names::ClusterNames;
use crate::cluster::servers::NodeState;
use crate::interrupt::Cancel;
use crate::wait::Wait;

/// What a removal did.
#[derive(Debug, Default)]
pub struct Removal {
    /// "service swarmpi-mpi", "network swarmpi-mpi", ...
    pub removed: Vec<String>,
    /// What is still there, each with why.
    pub left: Vec<String>,
}

impl Removal {
    fn step(&mut self, what: String, outcome: Result<bool>) {
        match outcome {
            Ok(true) => self.removed.push(what),
            Ok(false) => {}
            Err(error) => self.left.push(format!("{what}: {error:#}")),
        }
    }
}

/// Removes every Docker object of the cluster, waiting up to `limit` for its
/// containers to stop on the servers that answer.
pub async fn remove_cluster(
    engine: &Engine,
    names: &ClusterNames,
    limit: Duration,
    cancel: &Cancel,
) -> Removal {
    let mut removal = Removal::default();
    removal.step(
        format!("service {}", names.service()),
        service::remove(engine, names).await,
    );
    // With containers left on a server that is down, the network stays in
    // use: try it once rather than wait for it.
    let mut network_limit = limit;
    if let Err(error) = wait_for_tasks_gone(engine, names, limit, cancel).await {
        removal
            .left
            .push(format!("containers of {}: {error:#}", names.service()));
        network_limit = Duration::from_secs(2);
    }
    removal.step(
        format!("container {}", names.gateway()),
        gateway::remove(engine, names).await,
    );
    let removed = network::remove(engine, &names.network(), network_limit, cancel).await;
    removal.step(format!("network {}", names.network()), removed);
    match secret::remove_all(engine, names).await {
        Ok(secrets) => removal
            .removed
            .extend(secrets.into_iter().map(|s| format!("secret {s}"))),
        Err(error) => removal
            .left
            .push(format!("secrets of cluster {}: {error:#}", names.cluster)),
    }
    removal
}

/// Until no task of the service is left on a server that answers, and this
/// host runs no container of it. Tasks on a server that is down stay until
/// it comes back (Docker removes them then): that is said, not waited for.
async fn wait_for_tasks_gone(
    engine: &Engine,
    names: &ClusterNames,
    limit: Duration,
    cancel: &Cancel,
) -> Result<()> {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("com.docker.swarm.service.name={}", names.service())],
    )]);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let what = format!("the containers of {} to stop on every server", names.service());
    let on_down_servers = Wait::new(what, limit, cancel)
        .every(Duration::from_millis(300))
        .until(async || {
            let servers = membership::list_nodes(engine).await.unwrap_or_default();
            let tasks = service::list_tasks(engine, names).await.unwrap_or_default();
            let (waiting, unreachable): (Vec<_>, Vec<_>) = tasks.iter().partition(|t| {
                servers
                    .iter()
                    .any(|s| s.id == t.node_id && s.state == NodeState::Ready)
            });
            let local = engine
                .docker
                .list_containers(Some(options.clone()))
                .await
                .map_or(0, |c| c.len());
            let down: Vec<String> = unreachable
                .iter()
                .filter_map(|t| servers.iter().find(|s| s.id == t.node_id).map(|s| s.addr.clone()))
                .collect();
            Ok((waiting.is_empty() && local == 0).then_some(down))
        })
        .await?;
    if on_down_servers.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "still on server(s) {} that do not answer; Docker removes them when they come back",
        on_down_servers.join(", ")
    )
}
