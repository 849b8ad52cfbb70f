//! `swarmpi status`: the swarm's servers and the cluster's containers —
//! members with whether their sshd answers, and containers still starting
//! with their state. Exits 7 unless the cluster is ready.

use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use serde_json::json;

use crate::access::{self, Deployed};
use crate::cluster::members;
use crate::cluster::names::ClusterNames;
use crate::cluster::observe;
use crate::cluster::servers::Server;
use crate::context::Context;
use crate::error::{ExitCode, Outcome};
use crate::heal;
use crate::printer::{Printer, Table};
use crate::state::StateDir;

const PROBE_PATIENCE: Duration = Duration::from_secs(3);

/// One container in `status` (serialized as is in `--json`).
#[derive(Debug, Serialize)]
struct ContainerStatus {
    name: String,
    server: String,
    /// Empty while the container has not reported its address.
    ip: String,
    slots: u32,
    /// The swarm task's state: `running`, or where a starting one is.
    state: String,
    sshd: bool,
}

pub async fn run(ctx: &Context, names: ClusterNames) -> Result<Outcome> {
    let names = &names;
    let deployed = access::observe_deployed(ctx, names).await?;
    let reachable = probe_sshd(ctx, names, &deployed).await;
    let containers = containers(&deployed, &reachable);
    let expected = observe::expected_containers(&deployed.servers, deployed.state.per_host);
    let ready_count = reachable.iter().filter(|r| **r).count();
    let seen = &deployed.seen;
    let problems = problems(names, &deployed);
    let ready = ready_count == expected as usize && seen.pending.is_empty() && problems.is_empty();
    let slots = members::total_slots(&seen.members);
    let limits = &deployed.state.resources;
    let most_slots = deployed.state.members.iter().map(|m| m.slots).max().unwrap_or(1);
    let key = key_status(ctx, names, &deployed);
    if ctx.printer.json_mode() {
        ctx.printer.json(&json!({
            "cluster": names.cluster,
            "ready": ready,
            "subnet": deployed.state.subnet,
            "network": network_json(&deployed),
            "head": members::head(&seen.members).map(|m| m.hostname.clone()),
            "nodes": deployed.servers,
            "containers": containers,
            "problems": problems,
            "key": key,
            "limits": {
                "cpus": limits.cpus,
                "memory_bytes": limits.memory,
                "shm_bytes": limits.shm_bytes(most_slots),
            },
            "totals": {
                "servers": deployed.servers.len(),
                "containers": containers.len(),
                "expected_containers": expected,
                "sshd_reachable": ready_count,
                "slots": slots,
            },
        }));
    } else {
        print_tables(&ctx.printer, &deployed.servers, &containers, &problems);
        let each = format!("each container: {}", limits.describe(most_slots));
        for line in [each, key_line(&key), network_line(&deployed)] {
            ctx.printer.data(line);
        }
        let verdict = if ready { "ready" } else { "NOT READY" };
        ctx.printer.data(format!(
            "cluster {}: {verdict} ({ready_count} of {expected} containers ready, {slots} slots)",
            names.cluster
        ));
    }
    Ok(if ready {
        Outcome::Success
    } else {
        Outcome::Reported(ExitCode::ClusterNotReady)
    })
}

/// Faults, and what the next command will repair (a replaced container,
/// a missing gateway).
fn problems(names: &ClusterNames, deployed: &Deployed) -> Vec<String> {
    let mut problems: Vec<String> = deployed.seen.faults.iter().map(ToString::to_string).collect();
    if let Ok(Some(reason)) = heal::needs_repair(names, deployed) {
        problems.push(format!(
            "{reason}: will be repaired by the next run, exec, shell or deploy"
        ));
    }
    problems
}

/// Where MPI's traffic goes, for `--json`.
fn network_json(deployed: &Deployed) -> serde_json::Value {
    match deployed.state.host_ports {
        Some(block) => json!({
            "mode": "host",
            "ssh_port": block.ssh(),
            "ports": block.range(),
        }),
        None => json!({ "mode": "overlay" }),
    }
}

/// Where MPI's traffic goes, in a line.
fn network_line(deployed: &Deployed) -> String {
    match deployed.state.host_ports {
        Some(block) => format!(
            "network: the servers' own (sshd on port {}, Open MPI on {}-{})",
            block.ssh(),
            block.ssh() + 1,
            block.last()
        ),
        None => format!("network: overlay {}", deployed.state.subnet),
    }
}

/// Members first (with their sshd probe), then containers still starting.
fn containers(deployed: &Deployed, reachable: &[bool]) -> Vec<ContainerStatus> {
    let members = deployed
        .seen
        .members
        .iter()
        .zip(reachable)
        .map(|(m, sshd)| ContainerStatus {
            name: m.hostname.clone(),
            server: m.server.clone(),
            ip: m.ip.to_string(),
            slots: m.slots,
            state: "running".into(),
            sshd: *sshd,
        });
    let pending = deployed.seen.pending.iter().map(|p| ContainerStatus {
        name: p.hostname.clone(),
        server: p.server.clone().unwrap_or_default(),
        ip: String::new(),
        slots: 0,
        state: p.state.to_string(),
        sshd: false,
    });
    members.chain(pending).collect()
}

/// Whether each member's sshd answers through the gateway with the host key
/// it reported; all false when the gateway does not answer.
async fn probe_sshd(ctx: &Context, names: &ClusterNames, deployed: &Deployed) -> Vec<bool> {
    let members = &deployed.seen.members;
    let Ok((gateway, _)) = access::gateway_session(ctx, names, deployed).await else {
        return vec![false; members.len()];
    };
    let sessions = access::connect_members(&gateway, members, PROBE_PATIENCE, &ctx.cancel, || {}).await;
    let mut reachable = Vec::with_capacity(sessions.len());
    for session in sessions {
        if let Ok(node) = &session {
            node.close().await;
        }
        reachable.push(session.is_ok());
    }
    gateway.close().await;
    reachable
}

fn print_tables(printer: &Printer, servers: &[Server], containers: &[ContainerStatus], problems: &[String]) {
    let mut table = Table::new(&["SERVER ID", "ADDRESS", "ROLE", "AVAIL", "STATE"]);
    for s in servers {
        let (availability, state) = (s.availability.to_string(), s.state.to_string());
        table.row([s.id.as_str(), &s.addr, &s.role, &availability, &state]);
    }
    printer.table(&table);
    printer.data("");
    let mut table = Table::new(&["CONTAINER", "SERVER", "IP", "SLOTS", "STATE", "SSHD"]).align_right(&[3]);
    for c in containers {
        let sshd = if c.sshd { "ok" } else { "NO ANSWER" };
        table.row([
            c.name.as_str(),
            &c.server,
            &c.ip,
            &c.slots.to_string(),
            &c.state,
            sshd,
        ]);
    }
    printer.table(&table);
    for problem in problems {
        printer.data(format!("problem: {problem}"));
    }
}

/// The cluster key, as `status` shows it.
#[derive(Debug, Serialize)]
struct KeyStatus {
    #[serde(rename = "type")]
    key_type: &'static str,
    fingerprint: String,
    /// Since the key was made (deployed or last rotated).
    age_seconds: u64,
}

fn key_status(ctx: &Context, names: &ClusterNames, deployed: &Deployed) -> KeyStatus {
    let key_type = deployed.state.key_type;
    let path = StateDir::new(&ctx.settings.state_dir).key_path(&names.cluster, key_type);
    let age = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|made| made.elapsed().ok())
        .unwrap_or_default();
    KeyStatus {
        key_type: key_type.file_name().trim_start_matches("id_"),
        fingerprint: deployed.key.fingerprint(),
        age_seconds: age.as_secs(),
    }
}

fn key_line(key: &KeyStatus) -> String {
    format!(
        "cluster key: {} {}, made {} ago (`swarmpi deploy --rotate-key` replaces it)",
        key.key_type,
        key.fingerprint,
        describe_age(key.age_seconds)
    )
}

/// `3 d`, `5 h`, `12 min`, `40 s`: the largest unit that fits.
fn describe_age(seconds: u64) -> String {
    match seconds {
        s if s >= 86_400 => format!("{} d", s / 86_400),
        s if s >= 3_600 => format!("{} h", s / 3_600),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}
