//! Deploy's second half: wait until every container runs and reported its
//! host key, then reach each through the gateway and install the cluster's
//! files (key pair, known_hosts, ssh config, hostfile, MCA parameters).

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use futures_util::future::join_all;

use super::Converge;
use crate::access;
use crate::cluster::members::{self, Member};
use crate::cluster::observe::{self, Fault, Shape};
use crate::cluster::plan::Subnet;
use crate::cluster::ports::PortBlock;
use crate::cluster::servers;
use crate::error::{ExitCode, UserError};
use crate::ssh::{ClusterKey, Gateway, Node};
use crate::state::StateDir;
use crate::swarm::gateway::GatewayInfo;
use crate::wait::Wait;

/// With no progress for this long, a deploy gives up and says why.
const STALL_LIMIT: Duration = Duration::from_secs(25);
/// The outer bound on waiting for containers, however steady the progress.
const MEMBERS_LIMIT: Duration = Duration::from_secs(600);
/// How often the swarm is asked: each poll costs a few milliseconds of
/// the manager's time; waiting longer between polls costs the user.
const POLL: Duration = Duration::from_millis(100);
/// How long a new container's sshd may take to answer.
const SSH_PATIENCE: Duration = Duration::from_secs(20);

impl Converge<'_> {
    /// For a server without the image: the exact command that gives it the
    /// image this manager recorded, or how to get an explicit one there.
    fn fault_hint(&self, fault: &Fault) -> Option<String> {
        if let Fault::PortTaken { port, .. } = fault {
            return Some(format!(
                "on that server, `ss -ltnp 'sport = :{port}'` shows what listens there; stop it, \
                 or deploy with --port P to give the cluster another block of {} ports",
                crate::cluster::ports::BLOCK
            ));
        }
        if !matches!(fault, Fault::MissingImage { .. }) {
            return None;
        }
        let recorded = StateDir::new(&self.ctx.settings.state_dir).node_image_or_default();
        Some(match recorded {
            Ok(record) if record.image == self.image => format!(
                "on that server, run `{}`: it builds the same image ({}) without leaving the swarm",
                record.build_command(),
                self.image
            ),
            _ => format!(
                "load {} on that server (`docker save` here, `docker load` there), or deploy with the image `swarmpi init` built",
                self.image
            ),
        })
    }

    /// Polls the swarm until every container runs and reported its host key,
    /// failing fast on faults, a lost server, and when progress stalls.
    pub(super) async fn wait_for_members(
        &self,
        subnet: &Subnet,
        host_ports: Option<PortBlock>,
    ) -> Result<Vec<Member>> {
        let shape = Shape {
            names: &self.request.names,
            subnet,
            per_host: self.request.per_host,
            slots: self.request.slots,
            host_ports,
        };
        let bar = self
            .ctx
            .printer
            .bar(u64::from(self.replicas), "containers running");
        let mut progress = (0usize, Instant::now());
        let result = Wait::new(
            "every container to run and report its host key",
            MEMBERS_LIMIT,
            &self.ctx.cancel,
        )
        .every(POLL)
        .until(async || {
            let (servers, seen) = crate::swarm::observe::gather(self.engine, &shape).await?;
            bar.set_position(seen.members.len() as u64);
            if let Some(fault) = seen.faults.first() {
                let error = UserError::new(ExitCode::ClusterNotReady, fault.to_string());
                return Err(match self.fault_hint(fault) {
                    Some(hint) => error.hint(hint),
                    None => error,
                }
                .into());
            }
            if let Some(lost) = servers::lost_server(&self.usable, &servers) {
                return Err(lost.into());
            }
            if seen.members.len() == self.replicas as usize && seen.pending.is_empty() {
                for claim in &seen.ignored {
                    self.ctx
                        .printer
                        .warn(format!("ignored a host key a container printed: {claim}"));
                }
                return Ok(Some(seen.members));
            }
            if seen.members.len() != progress.0 {
                progress = (seen.members.len(), Instant::now());
            } else if progress.1.elapsed() > STALL_LIMIT {
                let stalled = observe::stalled(&seen, &servers, self.replicas, STALL_LIMIT.as_secs());
                return Err(stalled.into());
            }
            Ok(None)
        })
        .await;
        match &result {
            Ok(_) => bar.finish(),
            Err(_) => bar.abandon(),
        }
        result
    }

    /// Reaches every member through the gateway (which also proves each sshd
    /// answers with its reported key) and installs `files` (the cluster-files
    /// archive) in each; None when the cluster is unchanged.
    pub(super) async fn install_files(
        &self,
        gateway_info: &GatewayInfo,
        manager_key: &ClusterKey,
        members: &[Member],
        files: Option<&[u8]>,
        encrypted: bool,
    ) -> Result<()> {
        let gateway = access::open_gateway(self.ctx, gateway_info, manager_key, SSH_PATIENCE).await?;
        let started = Instant::now();
        let result = match (self.connect(&gateway, members, encrypted).await, files) {
            (Ok(nodes), None) => {
                close(&nodes).await;
                let cluster = &self.request.names.cluster;
                self.ctx.printer.info(format!(
                    "cluster {cluster} is already deployed as asked: nothing changed"
                ));
                Ok(())
            }
            (Ok(nodes), Some(files)) => {
                let distributed = self.distribute(&nodes, members, files).await;
                close(&nodes).await;
                distributed.map(|()| {
                    let took = started.elapsed().as_secs_f64();
                    self.ctx
                        .printer
                        .info(format!("keys, known_hosts and hostfile in place in {took:.2} s"));
                })
            }
            (Err(error), _) => Err(error),
        };
        gateway.close().await;
        result
    }

    async fn connect(&self, gateway: &Gateway, members: &[Member], encrypted: bool) -> Result<Vec<Node>> {
        let bar = self.ctx.printer.bar(members.len() as u64, "sshd ready");
        let results =
            access::connect_members(gateway, members, SSH_PATIENCE, &self.ctx.cancel, || bar.inc(1)).await;
        bar.finish();
        // The gateway runs on the manager: only what crosses to another
        // server travels in IPsec on an encrypted network.
        let manager = self.usable.iter().find(|s| s.leader).map(|s| s.addr.as_str());
        results
            .into_iter()
            .zip(members)
            .map(|(result, member)| match result {
                Err(e) if encrypted && Some(member.server.as_str()) != manager && is_silence(&e) => {
                    Err(esp_blocked(member, &e).into())
                }
                result => result.with_context(|| {
                    format!(
                        "container {} on server {} is not reachable over SSH",
                        member.hostname, member.server
                    )
                }),
            })
            .collect()
    }

    /// The same archive to every container, concurrently.
    async fn distribute(&self, nodes: &[Node], members: &[Member], files: &[u8]) -> Result<()> {
        let bar = self.ctx.printer.bar(nodes.len() as u64, "files distributed");
        let on_host = matches!(self.request.plane, super::Plane::Host { .. });
        let results = join_all(nodes.iter().zip(members).map(|(node, member)| {
            let bar = bar.clone();
            async move {
                let install = members::install_files(on_host.then_some(member.ip));
                let output = node.ask("installing the cluster files", &install, files).await?;
                if output.code != 0 {
                    anyhow::bail!(
                        "could not install the cluster files on {}: {}",
                        node.name,
                        output.stderr_text()
                    );
                }
                bar.inc(1);
                Ok(())
            }
        }))
        .await;
        bar.finish();
        results.into_iter().collect()
    }
}

async fn close(nodes: &[Node]) {
    for node in nodes {
        node.close().await;
    }
}

/// Whether connecting failed for want of any answer (not a refusal).
fn is_silence(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("no SSH answer") || text.contains("could not reach")
}

/// Silence across an encrypted network: most often ESP does not pass.
fn esp_blocked(member: &Member, error: &anyhow::Error) -> UserError {
    UserError::new(
        ExitCode::ClusterNotReady,
        format!(
            "container {} on server {} does not answer across the encrypted network ({error})",
            member.hostname, member.server
        ),
    )
    .hint(
        "between servers an encrypted network's traffic is IPsec ESP (IP protocol 50): a firewall that \
         drops protocol 50, or a kernel without the xfrm_user and esp4 modules, makes it silent. \
         `swarmpi doctor --encrypted` checks every pair; `deploy/firewall.sh --encrypted` opens ESP; \
         or deploy without --encrypted on a network you trust",
    )
}
