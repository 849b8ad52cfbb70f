//! `swarmpi down`: remove a cluster's service, network, secrets, configs,
//! gateway and local state, on every server. Idempotent.

use std::time::Duration;

use anyhow::Result;

use crate::cluster::names::ClusterNames;
use crate::config::Settings;
use crate::printer::Printer;
use crate::state::StateDir;
use crate::swarm::cluster as docker_cluster;
use crate::swarm::{Engine, membership};

const SHUTDOWN_WAIT: Duration = Duration::from_secs(60);

pub struct DownOptions {
    pub names: ClusterNames,
}

pub async fn run(settings: &Settings, options: DownOptions, printer: &Printer) -> Result<()> {
    let engine = Engine::connect(settings).await?;
    membership::require_manager(&engine).await?;
    let spinner = printer.spinner(format!("removing cluster {}", options.names.cluster));
    let removed = docker_cluster::remove_cluster(&engine, &options.names, SHUTDOWN_WAIT).await;
    spinner.finish_and_clear();
    let removed = removed?;
    let state_removed = StateDir::new(&settings.state_dir).remove(&options.names.cluster)?;
    if removed.objects.is_empty() && !state_removed {
        printer.info(format!(
            "cluster {} does not exist: nothing to remove",
            options.names.cluster
        ));
        return Ok(());
    }
    for object in &removed.objects {
        printer.info(format!("removed {object}"));
    }
    if state_removed {
        printer.info(format!(
            "removed the local state and key of cluster {}",
            options.names.cluster
        ));
    }
    Ok(())
}
