//! Gathers what the swarm reports about a cluster (servers, tasks, host-key
//! lines) and hands it to `cluster::observe`, which says what it means.

use anyhow::Result;

use super::client::Engine;
use super::{membership, network, service};
use crate::cluster::observe::{self, Facts, Observation, Shape};
use crate::cluster::servers::Server;

/// The swarm's servers and the cluster as observed now.
pub async fn gather(engine: &Engine, shape: &Shape<'_>) -> Result<(Vec<Server>, Observation)> {
    let servers = membership::list_nodes(engine).await?;
    let tasks = service::list_tasks(engine, shape.names).await?;
    let (reports, ignored) = service::host_key_reports(engine, &tasks).await?;
    let addresses = network::task_addresses(engine, shape.names).await?;
    let facts = Facts {
        servers: &servers,
        tasks: &tasks,
        reports: &reports,
        addresses: &addresses,
        ignored: &ignored,
    };
    let seen = observe::classify(&facts, shape);
    Ok((servers, seen))
}
