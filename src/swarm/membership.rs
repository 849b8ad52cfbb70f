//! This host's place in a swarm: inspect, init, join, leave, list nodes.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use bollard::models::{LocalNodeState, Node, SwarmInitRequest, SwarmJoinRequest};
use bollard::query_parameters::LeaveSwarmOptionsBuilder;

use super::client::{Engine, daemon_message};
use crate::cluster::servers::{self, Availability, NodeState, Server};
use crate::cluster::token::{JoinToken, SWARM_PORT};
use crate::error::{ExitCode, UserError};

fn listen_addr() -> String {
    format!("0.0.0.0:{SWARM_PORT}")
}
/// Docker gives up on a join after about 20 s and then keeps trying in the
/// background; we stop waiting a little later and cancel that attempt.
const JOIN_TIMEOUT: Duration = Duration::from_secs(25);

/// Where this Docker host stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    NotInSwarm,
    Manager {
        addr: String,
    },
    Worker {
        managers: Vec<String>,
    },
    /// Pending, error, locked: nothing swarmpi can build on.
    Unusable {
        state: String,
        error: String,
    },
}

pub async fn membership(engine: &Engine) -> Result<Membership> {
    let info = engine.docker.info().await.with_context(|| {
        format!(
            "could not read the state of the Docker daemon at {}",
            engine.endpoint
        )
    })?;
    let swarm = info.swarm.unwrap_or_default();
    Ok(match swarm.local_node_state {
        None | Some(LocalNodeState::INACTIVE) | Some(LocalNodeState::EMPTY) => Membership::NotInSwarm,
        Some(LocalNodeState::ACTIVE) if swarm.control_available == Some(true) => Membership::Manager {
            addr: swarm.node_addr.unwrap_or_default(),
        },
        Some(LocalNodeState::ACTIVE) => Membership::Worker {
            managers: swarm
                .remote_managers
                .unwrap_or_default()
                .into_iter()
                .filter_map(|peer| peer.addr)
                .collect(),
        },
        Some(state) => Membership::Unusable {
            state: state.to_string(),
            error: swarm.error.unwrap_or_default(),
        },
    })
}

/// Fails with a clear error unless this host is a swarm manager.
pub async fn require_manager(engine: &Engine) -> Result<()> {
    match membership(engine).await? {
        Membership::Manager { .. } => Ok(()),
        Membership::Worker { .. } => Err(UserError::new(
            ExitCode::SwarmState,
            "this Docker host is a swarm worker, not a manager",
        )
        .hint("run this command on the manager (the host where you ran `swarmpi init`)")
        .into()),
        _ => Err(
            UserError::new(ExitCode::SwarmState, "this Docker host is not a swarm manager")
                .hint("run `swarmpi init` here first, then `swarmpi join` on the other servers")
                .into(),
        ),
    }
}

pub async fn init(engine: &Engine, advertise: IpAddr) -> Result<()> {
    let request = SwarmInitRequest {
        listen_addr: Some(listen_addr()),
        advertise_addr: Some(advertise.to_string()),
        ..Default::default()
    };
    engine.docker.init_swarm(request).await.map_err(|e| {
        UserError::new(
            ExitCode::SwarmState,
            format!("could not create a swarm: {}", daemon_message(&e)),
        )
        .hint("check that --advertise-addr is an address of this host")
    })?;
    Ok(())
}

/// The `swarmpi join` token for workers, with this manager's address.
pub async fn worker_token(engine: &Engine, manager_addr: &str) -> Result<JoinToken> {
    let swarm = engine
        .docker
        .inspect_swarm()
        .await
        .context("could not read the swarm's join tokens")?;
    let worker = swarm
        .join_tokens
        .and_then(|tokens| tokens.worker)
        .context("the swarm has no worker join token")?;
    Ok(JoinToken::new(worker, format!("{manager_addr}:{SWARM_PORT}")))
}

pub async fn join(engine: &Engine, token: &JoinToken, advertise: IpAddr) -> Result<()> {
    let request = SwarmJoinRequest {
        listen_addr: Some(listen_addr()),
        advertise_addr: Some(advertise.to_string()),
        remote_addrs: Some(vec![token.manager_addr.clone()]),
        join_token: Some(token.swarm_token.clone()),
        ..Default::default()
    };
    let outcome = tokio::time::timeout(JOIN_TIMEOUT, engine.docker.join_swarm(request)).await;
    let message = match outcome {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(e)) => daemon_message(&e),
        Err(_) => "no answer from the manager".to_string(),
    };
    // A join that timed out keeps going in the background: stop it, so the
    // host is left as it was.
    let _ = leave(engine, true).await;
    Err(classify_join_failure(&token.manager_addr, &message).into())
}

fn classify_join_failure(manager: &str, message: &str) -> UserError {
    let lower = message.to_lowercase();
    if lower.contains("token") || lower.contains("certificate") || lower.contains("x509") {
        UserError::new(ExitCode::Token, format!("the manager at {manager} rejected the join token: {message}"))
            .hint("the token is out of date or from another swarm: run `swarmpi init` on the manager and use the line it prints")
    } else if lower.contains("timeout") || lower.contains("no answer") || lower.contains("deadline") {
        UserError::new(
            ExitCode::Unreachable,
            format!("could not join the swarm through {manager}: {message}"),
        )
        .hint(format!(
            "check that this server reaches {manager} (swarm needs {SWARM_PORT}/tcp, 7946/tcp+udp and 4789/udp open)"
        ))
    } else {
        UserError::new(
            ExitCode::SwarmState,
            format!("could not join the swarm through {manager}: {message}"),
        )
    }
}

pub async fn leave(engine: &Engine, force: bool) -> Result<()> {
    let options = LeaveSwarmOptionsBuilder::default().force(force).build();
    engine.docker.leave_swarm(Some(options)).await.map_err(|e| {
        UserError::new(
            ExitCode::SwarmState,
            format!("could not leave the swarm: {}", daemon_message(&e)),
        )
    })?;
    Ok(())
}

/// The swarm's servers, the leader first.
pub async fn list_nodes(engine: &Engine) -> Result<Vec<Server>> {
    let nodes = engine
        .docker
        .list_nodes(None::<bollard::query_parameters::ListNodesOptions>)
        .await
        .context("could not list the swarm's nodes")?;
    Ok(servers::sorted(nodes.into_iter().map(server_of).collect()))
}

fn server_of(node: Node) -> Server {
    let spec = node.spec.unwrap_or_default();
    let description = node.description.unwrap_or_default();
    let status = node.status.unwrap_or_default();
    let nano_cpus = description
        .resources
        .and_then(|r| r.nano_cpus)
        .unwrap_or(1_000_000_000);
    Server {
        id: node.id.unwrap_or_default(),
        hostname: description.hostname.unwrap_or_default(),
        addr: status.addr.unwrap_or_default(),
        role: spec.role.map(|r| r.to_string()).unwrap_or_default(),
        availability: Availability::parse(&spec.availability.map(|a| a.to_string()).unwrap_or_default()),
        state: NodeState::parse(&status.state.map(|s| s.to_string()).unwrap_or_default()),
        cpus: u32::try_from((nano_cpus / 1_000_000_000).max(1)).unwrap_or(1),
        leader: node.manager_status.and_then(|m| m.leader).unwrap_or(false),
        engine_version: description
            .engine
            .and_then(|e| e.engine_version)
            .unwrap_or_default(),
    }
}
