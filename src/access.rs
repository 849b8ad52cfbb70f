//! Opening SSH to a deployed cluster: the gateway first, then every member
//! through it, all at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use futures_util::future::join_all;
use russh::keys::PrivateKey;

use crate::cluster::members::Member;
use crate::ssh::session::{Gateway, Node};
use crate::swarm::cluster::GatewayInfo;

pub async fn open_gateway(info: &GatewayInfo, key: Arc<PrivateKey>, patience: Duration) -> Result<Gateway> {
    let addr = SocketAddr::from(([127, 0, 0, 1], info.port));
    retry(patience, || Gateway::connect(addr, &info.host_key, key.clone())).await
}

/// Sessions to every member, opened concurrently, each retried until
/// `patience` runs out (sshd may start a moment after the key is printed).
/// `on_ready` is called as each one opens.
pub async fn connect_members(
    gateway: &Gateway,
    members: &[Member],
    patience: Duration,
    on_ready: impl Fn() + Sync,
) -> Vec<Result<Node>> {
    let on_ready = &on_ready;
    join_all(members.iter().map(|member| async move {
        let node = retry(patience, || {
            gateway.node(&member.hostname, member.ip, &member.host_key)
        })
        .await;
        if node.is_ok() {
            on_ready();
        }
        node
    }))
    .await
}

async fn retry<T, F, Fut>(patience: Duration, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if tokio::time::Instant::now() >= deadline || is_final(&error) => return Err(error),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// A wrong host key or refused key will not get better by retrying.
fn is_final(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<crate::error::UserError>().is_some())
}

/// A deployed cluster, checked ready, with a session to every member.
pub struct OpenCluster {
    pub members: Vec<Member>,
    pub nodes: Vec<Node>,
    pub gateway: Gateway,
    pub gateway_info: GatewayInfo,
    pub key_path: std::path::PathBuf,
}

impl OpenCluster {
    /// The head: where mpirun starts (the lowest slot).
    pub fn head(&self) -> (&Member, &Node) {
        (&self.members[0], &self.nodes[0])
    }

    pub async fn close(&self) {
        for node in &self.nodes {
            node.close().await;
        }
        self.gateway.close().await;
    }
}

/// Opens the named cluster, failing with a user error naming what is not
/// ready (a container gone, a server down, sshd not answering).
pub async fn open_cluster(
    settings: &crate::config::Settings,
    names: &crate::cluster::names::ClusterNames,
) -> Result<OpenCluster> {
    use crate::error::{ExitCode, UserError};
    let engine = crate::swarm::Engine::connect(settings).await?;
    crate::swarm::membership::require_manager(&engine).await?;
    let states = crate::state::StateDir::new(&settings.state_dir);
    let not_ready = |what: String| {
        UserError::new(ExitCode::ClusterNotReady, what).hint(format!(
            "run `swarmpi deploy --name {}` to repair it",
            names.cluster
        ))
    };
    let state = states.load_existing(&names.cluster)?;
    let (_, seen) = crate::swarm::cluster::observe_deployed(&engine, names, &state).await?;
    if let Some(fault) = seen.faults.first() {
        return Err(not_ready(format!("cluster {} is not ready: {fault}", names.cluster)).into());
    }
    let gone: Vec<&Member> = state
        .members
        .iter()
        .filter(|m| !seen.members.iter().any(|s| s.task_id == m.task_id))
        .collect();
    if let Some(member) = gone.first() {
        return Err(not_ready(format!(
            "container {} on server {} is gone or not running",
            member.hostname, member.server
        ))
        .into());
    }
    if seen.members.len() != state.members.len() {
        return Err(not_ready(format!(
            "cluster {} has {} running containers but was deployed with {}",
            names.cluster,
            seen.members.len(),
            state.members.len()
        ))
        .into());
    }
    let key_path = states.key_path(&names.cluster, state.key_type);
    let key = Arc::new(crate::ssh::keys::load_private(&key_path)?);
    let gateway_info = crate::swarm::cluster::gateway_info(&engine, names)
        .await?
        .ok_or_else(|| {
            not_ready(format!(
                "the gateway container {} is not running",
                names.gateway()
            ))
        })?;
    let gateway = open_gateway(&gateway_info, key, Duration::from_secs(5)).await?;
    let members = state.members;
    let mut nodes = Vec::with_capacity(members.len());
    for (result, member) in connect_members(&gateway, &members, Duration::from_secs(5), || {})
        .await
        .into_iter()
        .zip(&members)
    {
        match result {
            Ok(node) => nodes.push(node),
            Err(error) => {
                return Err(not_ready(format!(
                    "container {} on server {} does not answer over SSH: {error:#}",
                    member.hostname, member.server
                ))
                .into());
            }
        }
    }
    Ok(OpenCluster {
        members,
        nodes,
        gateway,
        gateway_info,
        key_path,
    })
}
