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
