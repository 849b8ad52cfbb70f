//! `swarmpi status`: the swarm's servers and the cluster's containers, with
//! whether each container's sshd answers. Exits non-zero unless ready.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use serde_json::json;

use crate::access;
use crate::cluster::members::{self, Member};
use crate::cluster::names::ClusterNames;
use crate::config::Settings;
use crate::error::ExitCode;
use crate::printer::Printer;
use crate::ssh::keys;
use crate::state::StateDir;
use crate::swarm::Engine;
use crate::swarm::cluster as docker_cluster;
use crate::swarm::membership::{self, ServerNode};

const PROBE_PATIENCE: Duration = Duration::from_secs(3);

pub struct StatusOptions {
    pub names: ClusterNames,
}

#[derive(Debug, Serialize)]
struct ContainerStatus {
    name: String,
    server: String,
    ip: String,
    slots: u32,
    state: String,
    sshd: bool,
}

pub async fn run(settings: &Settings, options: StatusOptions, printer: &Printer) -> Result<i32> {
    let engine = Engine::connect(settings).await?;
    membership::require_manager(&engine).await?;
    let names = &options.names;
    let state = StateDir::new(&settings.state_dir).load_existing(&names.cluster)?;
    let (servers, seen) = docker_cluster::observe_deployed(&engine, names, &state).await?;
    let reachable = probe_sshd(&engine, settings, names, &state.key_type, &seen.members).await;
    let containers: Vec<ContainerStatus> = seen
        .members
        .iter()
        .zip(&reachable)
        .map(|(m, sshd)| ContainerStatus {
            name: m.hostname.clone(),
            server: m.server.clone(),
            ip: m.ip.to_string(),
            slots: m.slots,
            state: "running".into(),
            sshd: *sshd,
        })
        .collect();
    let expected = servers.iter().filter(|s| s.usable()).count() as u32 * state.per_host;
    let ready_count = reachable.iter().filter(|r| **r).count();
    let ready = ready_count == expected as usize && seen.waiting == 0 && seen.faults.is_empty();
    if printer.json_mode() {
        printer.json(&json!({
            "cluster": names.cluster,
            "ready": ready,
            "subnet": state.subnet,
            "head": members::head(&seen.members).map(|m| m.hostname.clone()),
            "nodes": servers,
            "containers": containers,
            "problems": seen.faults,
            "totals": {
                "servers": servers.len(),
                "containers": containers.len(),
                "expected_containers": expected,
                "sshd_reachable": ready_count,
                "slots": members::total_slots(&seen.members),
            },
        }));
    } else {
        print_tables(printer, &servers, &containers, &seen.faults);
        printer.data(format!(
            "cluster {}: {} ({} of {} containers ready, {} slots)",
            names.cluster,
            if ready { "ready" } else { "NOT READY" },
            ready_count,
            expected,
            members::total_slots(&seen.members)
        ));
    }
    Ok(if ready {
        0
    } else {
        ExitCode::ClusterNotReady as i32
    })
}

/// Whether each member's sshd answers through the gateway, with the host key
/// it reported.
async fn probe_sshd(
    engine: &Engine,
    settings: &Settings,
    names: &ClusterNames,
    key_type: &keys::KeyType,
    members: &[Member],
) -> Vec<bool> {
    let all_false = vec![false; members.len()];
    let key_path = StateDir::new(&settings.state_dir).key_path(&names.cluster, *key_type);
    let (Ok(key), Ok(Some(info))) = (
        keys::load_private(&key_path),
        docker_cluster::gateway_info(engine, names).await,
    ) else {
        return all_false;
    };
    let Ok(gateway) = access::open_gateway(&info, Arc::new(key), PROBE_PATIENCE).await else {
        return all_false;
    };
    let nodes = access::connect_members(&gateway, members, PROBE_PATIENCE, || {}).await;
    let mut reachable = Vec::with_capacity(nodes.len());
    for node in nodes {
        match node {
            Ok(node) => {
                node.close().await;
                reachable.push(true);
            }
            Err(_) => reachable.push(false),
        }
    }
    gateway.close().await;
    reachable
}

fn print_tables(
    printer: &Printer,
    servers: &[ServerNode],
    containers: &[ContainerStatus],
    problems: &[String],
) {
    printer.data(format!(
        "{:<27} {:<15} {:<8} {:<8} {:<7}",
        "SERVER ID", "ADDRESS", "ROLE", "AVAIL", "STATE"
    ));
    for s in servers {
        printer.data(format!(
            "{:<27} {:<15} {:<8} {:<8} {:<7}",
            s.id, s.addr, s.role, s.availability, s.state
        ));
    }
    printer.data("");
    printer.data(format!(
        "{:<16} {:<15} {:<15} {:>5}  {:<8} {}",
        "CONTAINER", "SERVER", "IP", "SLOTS", "STATE", "SSHD"
    ));
    for c in containers {
        let sshd = if c.sshd { "ok" } else { "NO ANSWER" };
        printer.data(format!(
            "{:<16} {:<15} {:<15} {:>5}  {:<8} {}",
            c.name, c.server, c.ip, c.slots, c.state, sshd
        ));
    }
    for problem in problems {
        printer.data(format!("problem: {problem}"));
    }
}
