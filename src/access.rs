//! Opening a deployed cluster: observe it, check it is usable as deployed,
//! then open the gateway and, through it, a session to every member at once.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;
use futures_util::future::join_all;

use crate::cluster::members::Member;
use crate::cluster::names::ClusterNames;
use crate::cluster::observe::{self, Observation, Shape};
use crate::cluster::ports::PortBlock;
use crate::cluster::servers::Server;
use crate::context::Context;
use crate::error::{ExitCode, UserError};
use crate::interrupt::Cancel;
use crate::ssh::{ClusterKey, Gateway, KeyType, Node};
use crate::state::{ClusterState, StateDir};
use crate::swarm::gateway::{self, GatewayInfo};
use crate::swarm::{Engine, membership};
use crate::wait::Wait;

/// How long a deployed cluster's sshd may take to answer.
const PATIENCE: Duration = Duration::from_secs(5);

/// A deployed cluster as the swarm reports it now.
pub struct Deployed {
    pub engine: Engine,
    pub state: ClusterState,
    pub servers: Vec<Server>,
    pub seen: Observation,
    pub key: ClusterKey,
    /// The manager's gateway key; a cluster deployed before there was one
    /// has none until it is repaired.
    pub gateway_key: Option<ClusterKey>,
    /// The running gateway, if it runs.
    pub gateway: Option<GatewayInfo>,
}

impl Deployed {
    /// The manager's own key: the gateway lets it through and every
    /// container lets it in.
    pub fn manager_key(&self) -> Option<ClusterKey> {
        self.gateway_key.clone()
    }
}

/// Reads the cluster's saved state and observes it on the swarm.
pub async fn observe_deployed(ctx: &Context, names: &ClusterNames) -> Result<Deployed> {
    let engine = Engine::connect(&ctx.settings).await?;
    membership::require_manager(&engine).await?;
    let states = StateDir::new(&ctx.settings.state_dir);
    let state = states.load_existing(&names.cluster)?;
    let subnet = state.subnet()?;
    let shape = Shape {
        names,
        subnet: &subnet,
        per_host: state.per_host,
        slots: state.slots,
        host_ports: state.host_ports,
    };
    let (servers, seen) = crate::swarm::observe::gather(&engine, &shape).await?;
    let key = ClusterKey::load(&states.key_path(&names.cluster, state.key_type), state.key_type)?;
    let gateway_path = states.gateway_key_path(&names.cluster);
    let gateway_key = gateway_path
        .exists()
        .then(|| ClusterKey::load(&gateway_path, KeyType::Ed25519))
        .transpose()?;
    let gateway = gateway::info(&engine, names).await?;
    Ok(Deployed {
        engine,
        state,
        servers,
        seen,
        key,
        gateway_key,
        gateway,
    })
}

fn not_ready(names: &ClusterNames, what: String) -> UserError {
    UserError::new(ExitCode::ClusterNotReady, what).hint(format!(
        "run `swarmpi deploy --name {}` to repair it",
        names.cluster
    ))
}

/// The session to the gateway, retried for `patience` (sshd may start a
/// moment after the key is printed).
pub async fn open_gateway(
    ctx: &Context,
    info: &GatewayInfo,
    manager_key: &ClusterKey,
    patience: Duration,
) -> Result<Gateway> {
    let addr = SocketAddr::from(([127, 0, 0, 1], info.port));
    let silence = ctx.settings.answer_timeout;
    Wait::new(format!("the gateway's sshd at {addr}"), patience, &ctx.cancel)
        .retry(async || Gateway::connect(addr, &info.host_key, manager_key.clone(), silence).await)
        .await
}

/// Why the observed gateway cannot be used, if it cannot.
pub fn gateway_missing(names: &ClusterNames, deployed: &Deployed) -> Option<String> {
    if deployed.gateway_key.is_none() {
        return Some(format!(
            "this manager has no gateway key for cluster {}",
            names.cluster
        ));
    }
    deployed
        .gateway
        .is_none()
        .then(|| format!("the gateway container {} is not running", names.gateway()))
}

/// A session to the observed gateway, or a not-ready error.
pub async fn gateway_session(
    ctx: &Context,
    names: &ClusterNames,
    deployed: &Deployed,
) -> Result<(Gateway, GatewayInfo)> {
    let (Some(keys), Some(info)) = (deployed.manager_key(), deployed.gateway.clone()) else {
        let why = gateway_missing(names, deployed).unwrap_or_default();
        return Err(not_ready(names, why).into());
    };
    let session = open_gateway(ctx, &info, &keys, PATIENCE).await?;
    Ok((session, info))
}

/// Sessions to every member, opened concurrently, each retried for
/// `patience`; `on_ready` is called as each one opens.
pub async fn connect_members(
    gateway: &Gateway,
    members: &[Member],
    patience: Duration,
    cancel: &Cancel,
    on_ready: impl Fn() + Sync,
) -> Vec<Result<Node>> {
    let on_ready = &on_ready;
    join_all(members.iter().map(|member| async move {
        let node = Wait::new(format!("sshd on {}", member.hostname), patience, cancel)
            .retry(async || {
                gateway
                    .node(&member.hostname, member.ssh_addr(), &member.host_key)
                    .await
            })
            .await;
        if node.is_ok() {
            on_ready();
        }
        node
    }))
    .await
}

/// A member's sshd did not answer: it may have died a moment ago, before
/// the swarm noticed (`heal` then waits for its replacement).
#[derive(Debug)]
pub struct Unanswered(pub UserError);

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Unanswered {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// A member of an open cluster with its session (it reads as its
/// [`Member`]: `open.hostname`, `open.server`).
pub struct OpenMember {
    pub member: Member,
    pub node: Node,
}

impl std::ops::Deref for OpenMember {
    type Target = Member;

    fn deref(&self) -> &Member {
        &self.member
    }
}

/// A deployed cluster, checked usable, with a session to every member.
pub struct OpenCluster {
    /// In launch order's source: by slot, the head (lowest slot) first.
    pub members: Vec<OpenMember>,
    /// The swarm's servers, for where ranks land.
    pub servers: Vec<Server>,
    pub gateway: Gateway,
    pub gateway_info: GatewayInfo,
    pub key_path: std::path::PathBuf,
    pub gateway_key_path: std::path::PathBuf,
    /// The node image it was deployed with.
    pub image: String,
    /// On the servers' own network: its ports; None on the overlay.
    pub host_ports: Option<PortBlock>,
}

impl OpenCluster {
    /// The head: where mpirun starts (the lowest slot).
    pub fn head(&self) -> (&Member, &Node) {
        let head = self
            .members
            .iter()
            .min_by_key(|m| m.slot)
            .expect("an open cluster has members");
        (&head.member, &head.node)
    }

    /// The members without their sessions, for the pure decisions.
    pub fn member_list(&self) -> Vec<Member> {
        self.members.iter().map(|m| m.member.clone()).collect()
    }

    pub async fn close(&self) {
        for open in &self.members {
            open.node.close().await;
        }
        self.gateway.close().await;
    }
}

/// Opens the observed cluster, failing with a user error naming what is
/// not ready (a container gone, a server down, sshd not answering).
pub async fn open_cluster(ctx: &Context, names: &ClusterNames, deployed: Deployed) -> Result<OpenCluster> {
    if let Some(reason) = observe::unusable_because(&names.cluster, &deployed.state.members, &deployed.seen) {
        return Err(not_ready(names, reason).into());
    }
    let (gateway, gateway_info) = gateway_session(ctx, names, &deployed).await?;
    let (image, host_ports) = (deployed.state.image.clone(), deployed.state.host_ports);
    let members = deployed.state.members;
    let sessions = connect_members(&gateway, &members, PATIENCE, &ctx.cancel, || {}).await;
    let mut open = Vec::with_capacity(members.len());
    for (session, member) in sessions.into_iter().zip(members) {
        match session {
            Ok(node) => open.push(OpenMember { member, node }),
            Err(error) => {
                let what = format!(
                    "container {} on server {} does not answer over SSH: {error:#}",
                    member.hostname, member.server
                );
                for open in &open {
                    open.node.close().await;
                }
                gateway.close().await;
                return Err(Unanswered(not_ready(names, what)).into());
            }
        }
    }
    let states = StateDir::new(&ctx.settings.state_dir);
    Ok(OpenCluster {
        members: open,
        servers: deployed.servers,
        gateway,
        gateway_info,
        key_path: states.key_path(&names.cluster, deployed.key.key_type()),
        gateway_key_path: states.gateway_key_path(&names.cluster),
        image,
        host_ports,
    })
}
