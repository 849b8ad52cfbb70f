//! What Docker reports about a cluster, interpreted: which containers are
//! members (running, with a host key and an overlay address), which are
//! still coming, and which faults waiting will not cure. No I/O: the swarm
//! layer gathers the facts, this module decides what they mean.

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;

use super::hostkey::HostKeyReport;
use super::members::{self, Member};
use super::names::ClusterNames;
use super::plan::{self, Subnet};
use super::ports::PortBlock;
use super::servers::Server;
use crate::error::{ExitCode, UserError};

/// A swarm task's state, as Docker names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    New,
    Allocated,
    Pending,
    Assigned,
    Accepted,
    Preparing,
    Ready,
    Starting,
    Running,
    Complete,
    Shutdown,
    Failed,
    Rejected,
    Remove,
    Orphaned,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format!("{self:?}").to_lowercase())
    }
}

/// One task of the cluster's service.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub slot: u32,
    pub node_id: String,
    pub state: TaskState,
    /// The swarm wants it running (or ready to restart after its delay).
    pub desired_running: bool,
    /// Made from the service's current spec (not an older one being
    /// replaced by a rolling update).
    pub current: bool,
    pub error: String,
}

/// A container that should run but is not a member yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub hostname: String,
    /// The server's address, if the task was placed yet.
    pub server: Option<String>,
    pub state: TaskState,
}

impl fmt::Display for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.server {
            Some(addr) => write!(f, "{} on server {addr}: {}", self.hostname, self.state),
            None => write!(f, "{} on an unassigned server: {}", self.hostname, self.state),
        }
    }
}

/// The cluster as observed at one moment.
#[derive(Debug, Default)]
pub struct Observation {
    /// Running containers with a host key and an overlay address, by slot.
    pub members: Vec<Member>,
    /// Containers that should run and are not members yet.
    pub pending: Vec<Pending>,
    /// Faults that waiting will not cure, each naming its server.
    pub faults: Vec<Fault>,
    /// Host-key claims a container made that were not believed.
    pub ignored: Vec<String>,
}

/// What the swarm reported, gathered by the swarm layer.
pub struct Facts<'a> {
    pub servers: &'a [Server],
    pub tasks: &'a [Task],
    /// Host keys by task, as Docker attributes the lines that carry them.
    pub reports: &'a HashMap<String, HostKeyReport>,
    /// Each task's address on the cluster's network, as Docker records it.
    pub addresses: &'a HashMap<String, Ipv4Addr>,
    /// Host-key claims that were ignored (see `hostkey::collect`).
    pub ignored: &'a [String],
}

/// How the cluster was deployed: what members should look like.
pub struct Shape<'a> {
    pub names: &'a ClusterNames,
    pub subnet: &'a Subnet,
    pub per_host: u32,
    pub slots: Option<u32>,
    /// On the servers' own network: the cluster's ports (its sshd at the
    /// server's address); None on the overlay.
    pub host_ports: Option<PortBlock>,
}

enum Verdict {
    Member(Member),
    Pending(Pending),
    Fault(Fault),
}

/// Why the cluster cannot become ready by waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// `server` (a label: "server 10.77.0.3") lacks the node image.
    MissingImage { server: String, error: String },
    /// A container on `server` failed or was rejected.
    Failed { server: String, error: String },
    /// On the servers' own network, `port` on `server` is taken by another
    /// program (the container said so and stopped).
    PortTaken { server: String, port: u16 },
    /// `server` is not Ready and Active while it runs `container`.
    ServerUnusable {
        server: String,
        state: String,
        container: String,
    },
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::MissingImage { server, error } => {
                write!(f, "{server} does not have the node image ({error})")
            }
            Fault::Failed { server, error } => write!(f, "a container on {server} failed: {error}"),
            Fault::PortTaken { server, port } => write!(
                f,
                "port {port} is already in use on {server}: the cluster's sshd cannot listen there"
            ),
            Fault::ServerUnusable {
                server,
                state,
                container,
            } => write!(f, "{server} is {state} while it runs {container}"),
        }
    }
}

/// Sorts every desired task into members, pending containers and faults.
pub fn classify(facts: &Facts<'_>, shape: &Shape<'_>) -> Observation {
    let mut observation = Observation {
        ignored: facts.ignored.to_vec(),
        ..Default::default()
    };
    for task in facts.tasks.iter().filter(|t| t.desired_running) {
        match judge(task, facts, shape) {
            Verdict::Member(member) => observation.members.push(member),
            Verdict::Pending(pending) => observation.pending.push(pending),
            Verdict::Fault(fault) => observation.faults.push(fault),
        }
    }
    // Recently rejected tasks that were replaced still explain a stuck
    // cluster, as do containers that stopped because their port is taken
    // (a container killed and being replaced does not).
    if observation.faults.is_empty() && !observation.pending.is_empty() {
        for task in facts
            .tasks
            .iter()
            .filter(|t| !t.desired_running && matches!(t.state, TaskState::Rejected | TaskState::Failed))
        {
            let server =
                server_of(facts.servers, &task.node_id).map_or_else(|| "a server".to_string(), Server::label);
            let fault = describe_fault(&server, &task.error, shape.host_ports);
            if task.state == TaskState::Rejected || matches!(fault, Fault::PortTaken { .. }) {
                observation.faults.push(fault);
            }
        }
        observation.faults.dedup();
    }
    observation.members = members::sorted(observation.members);
    observation
}

fn server_of<'a>(servers: &'a [Server], node_id: &str) -> Option<&'a Server> {
    servers.iter().find(|s| s.id == node_id)
}

fn judge(task: &Task, facts: &Facts<'_>, shape: &Shape<'_>) -> Verdict {
    let server = server_of(facts.servers, &task.node_id);
    let hostname = shape.names.hostname(task.slot);
    let server_label = server.map_or_else(|| "an unassigned server".to_string(), Server::label);
    if matches!(task.state, TaskState::Rejected | TaskState::Failed) {
        return Verdict::Fault(describe_fault(&server_label, &task.error, shape.host_ports));
    }
    if let Some(server) = server
        && !server.usable()
    {
        return Verdict::Fault(Fault::ServerUnusable {
            server: server_label,
            state: format!("{} ({})", server.state, server.availability),
            container: hostname,
        });
    }
    let report = facts.reports.get(&task.id);
    let ip = match shape.host_ports {
        // On the servers' own network a container is reached at its server.
        Some(_) => server.and_then(|s| s.addr.parse::<Ipv4Addr>().ok()),
        None => facts
            .addresses
            .get(&task.id)
            .copied()
            .filter(|ip| shape.subnet.contains(*ip)),
    };
    match (task.state, server, report, ip) {
        (TaskState::Running, Some(server), Some(report), Some(ip)) if task.current => {
            Verdict::Member(Member {
                task_id: task.id.clone(),
                slot: task.slot,
                hostname,
                server: server.addr.clone(),
                ip,
                port: shape.host_ports.map_or(members::OVERLAY_SSH_PORT, PortBlock::ssh),
                slots: plan::slots_for(server.cpus, shape.per_host, shape.slots),
                host_key: report.key.clone(),
            })
        }
        _ => Verdict::Pending(Pending {
            hostname,
            server: server.map(|s| s.addr.clone()),
            state: task.state,
        }),
    }
}

/// The node image's entrypoint exits with this when its sshd's port is
/// taken (images/node/entrypoint.sh); Docker reports "non-zero exit (75)".
pub const PORT_TAKEN_EXIT: u8 = 75;

/// A failed or rejected task: a missing image and a taken port are told
/// apart (their fixes are known).
pub fn describe_fault(server: &str, error: &str, host_ports: Option<PortBlock>) -> Fault {
    let (server, error) = (server.to_string(), error.to_string());
    if let Some(block) = host_ports
        && error.contains(&format!("non-zero exit ({PORT_TAKEN_EXIT})"))
    {
        return Fault::PortTaken {
            server,
            port: block.ssh(),
        };
    }
    if error.contains("No such image") {
        Fault::MissingImage { server, error }
    } else {
        Fault::Failed { server, error }
    }
}

/// Why a deployed cluster cannot be used as deployed, if it cannot: a
/// fault, a member gone or replaced, or a different number of containers.
pub fn unusable_because(cluster: &str, deployed: &[Member], seen: &Observation) -> Option<String> {
    if let Some(fault) = seen.faults.first() {
        return Some(format!("cluster {cluster} is not ready: {fault}"));
    }
    if let Some(gone) = deployed
        .iter()
        .find(|m| !seen.members.iter().any(|s| s.task_id == m.task_id))
    {
        let (name, server) = (&gone.hostname, &gone.server);
        let replaced = seen.members.iter().find(|s| s.slot == gone.slot);
        return Some(match replaced {
            Some(now) => format!(
                "container {name} on server {server} was replaced (now on server {})",
                now.server
            ),
            None => format!("container {name} on server {server} is gone or not running"),
        });
    }
    (seen.members.len() != deployed.len()).then(|| {
        format!(
            "cluster {cluster} has {} running containers but was deployed with {}",
            seen.members.len(),
            deployed.len()
        )
    })
}

/// The hint for a cluster whose fault waiting will not cure.
pub const FAULT_HINT: &str =
    "repair or restart the server named, or run `swarmpi deploy` to redeploy on the servers that are left";

/// How many containers a cluster of `per_host` should have on these servers.
pub fn expected_containers(servers: &[Server], per_host: u32) -> u32 {
    servers.iter().filter(|s| s.usable()).count() as u32 * per_host
}

/// The error for a deploy that stopped making progress: how far it got,
/// which servers are not ready, and what each missing container is doing.
pub fn stalled(seen: &Observation, servers: &[Server], replicas: u32, limit_secs: u64) -> UserError {
    let mut message = format!(
        "only {} of {replicas} containers became ready within {limit_secs} s",
        seen.members.len()
    );
    let down: Vec<String> = servers
        .iter()
        .filter(|s| !s.usable())
        .map(|s| format!("{} ({})", s.addr, s.state))
        .collect();
    if !down.is_empty() {
        message.push_str(&format!("; servers not ready: {}", down.join(", ")));
    }
    if !seen.pending.is_empty() {
        let waiting: Vec<String> = seen.pending.iter().map(ToString::to_string).collect();
        message.push_str(&format!("; waiting: {}", waiting.join(", ")));
    }
    UserError::new(ExitCode::Unreachable, message)
        .hint("check `swarmpi status` and `docker service ps` on the manager; a server that stopped answering must be repaired or removed")
}

#[cfg(test)]
#[path = "observe_tests.rs"]
mod tests;
