//! `swarmpi deploy`: a ready MPI cluster across every server of the swarm —
//! overlay network, N containers per server, a fresh key pair, known_hosts,
//! hostfile and Open MPI defaults in every container.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::future::join_all;
use russh::keys::PrivateKey;

use crate::access;
use crate::cluster::archive::{self, Entry};
use crate::cluster::members::{self, Member};
use crate::cluster::names::ClusterNames;
use crate::cluster::plan::{self, Subnet};
use crate::config::Settings;
use crate::error::{ExitCode, UserError};
use crate::printer::Printer;
use crate::ssh::keys::{self, KeyType};
use crate::ssh::session::Node;
use crate::state::{ClusterState, StateDir};
use crate::swarm::cluster::{self as docker_cluster, Change, ServiceShape};
use crate::swarm::membership::{self, ServerNode};
use crate::swarm::{Engine, image};

/// With no progress for this long, a deploy gives up and says why.
const STALL_LIMIT: Duration = Duration::from_secs(25);
const SSH_PATIENCE: Duration = Duration::from_secs(20);

pub struct DeployOptions {
    pub names: ClusterNames,
    pub per_host: u32,
    pub slots: Option<u32>,
    pub image: Option<String>,
    pub subnet: Option<Subnet>,
    pub mtu: Option<u32>,
    pub encrypted: bool,
    pub key_type: KeyType,
}

pub async fn run(settings: &Settings, options: DeployOptions, printer: &Printer) -> Result<()> {
    plan::check_per_host(options.per_host)?;
    plan::check_slots(options.slots)?;
    plan::check_mtu(options.mtu)?;
    let engine = Engine::connect(settings).await?;
    membership::require_manager(&engine).await?;
    let servers: Vec<ServerNode> = membership::list_nodes(&engine).await?;
    let usable: Vec<ServerNode> = servers.iter().filter(|s| s.usable()).cloned().collect();
    let replicas = plan::replicas(usable.len(), options.per_host)?;
    plan::check_fits(options.subnet, replicas)?;
    let image = options.image.clone().unwrap_or_else(image::default_image_ref);
    if !image::image_exists(&engine, &image).await? {
        return Err(UserError::new(
            ExitCode::Usage,
            format!("the node image {image} is not on this manager"),
        )
        .hint("run `swarmpi init` here (it builds the image), or pass --image with a local image")
        .into());
    }
    let states = StateDir::new(&settings.state_dir);
    let previous = states.load(&options.names.cluster)?;
    // The saved state says whether the cluster existed: a failed first deploy
    // removes everything it made (a just-removed network may still be listed).
    let existed = previous.is_some();
    let started = Instant::now();
    let deploy = Deploy {
        engine: &engine,
        options: &options,
        printer,
        states: &states,
        image,
        replicas,
        usable,
        servers,
    };
    match deploy.converge(previous).await {
        Ok(()) => {
            printer.info(format!(
                "cluster {} ready in {:.1} s",
                options.names.cluster,
                started.elapsed().as_secs_f64()
            ));
            Ok(())
        }
        Err(error) if !existed => {
            printer.warn(format!(
                "deploy failed: removing what it created for cluster {}",
                options.names.cluster
            ));
            if let Err(cleanup) =
                docker_cluster::remove_cluster(&engine, &options.names, Duration::from_secs(30)).await
            {
                printer.warn(format!(
                    "could not remove everything: {cleanup:#}; run `swarmpi down --name {}`",
                    options.names.cluster
                ));
            }
            let _ = states.remove(&options.names.cluster);
            Err(error)
        }
        Err(error) => Err(error),
    }
}

struct Deploy<'a> {
    engine: &'a Engine,
    options: &'a DeployOptions,
    printer: &'a Printer,
    states: &'a StateDir,
    image: String,
    replicas: u32,
    usable: Vec<ServerNode>,
    servers: Vec<ServerNode>,
}

impl Deploy<'_> {
    async fn converge(&self, previous: Option<ClusterState>) -> Result<()> {
        let names = &self.options.names;
        let key = Arc::new(self.cluster_key(previous.as_ref())?);
        let public_key = keys::public_openssh(&key)?;
        let (network, network_created) = self.ensure_network().await?;
        let (secret_id, secret_name) = docker_cluster::ensure_key_secret(
            self.engine,
            names,
            &public_key,
            &keys::short_fingerprint(&key),
        )
        .await?;
        let shape = ServiceShape {
            image: self.image.clone(),
            replicas: self.replicas,
            per_host: self.options.per_host,
            secret_id,
            secret_name: secret_name.clone(),
        };
        let service_change = docker_cluster::ensure_service(self.engine, names, &shape).await?;
        docker_cluster::remove_stale_secrets(self.engine, names, &secret_name).await?;
        let (gateway_info, gateway_change) =
            docker_cluster::ensure_gateway(self.engine, names, &self.image, &public_key).await?;
        self.report_changes(network_created, service_change, gateway_change);

        let members = self.wait_for_members(&network.subnet).await?;
        let gateway = access::open_gateway(&gateway_info, key.clone(), SSH_PATIENCE).await?;
        let files_started = Instant::now();
        let nodes = self.connect(&gateway, &members).await?;
        let state = ClusterState {
            name: names.cluster.clone(),
            image: self.image.clone(),
            per_host: self.options.per_host,
            slots: self.options.slots,
            key_type: self.options.key_type,
            subnet: network.subnet.to_string(),
            members: members.clone(),
        };
        let unchanged =
            previous.as_ref() == Some(&state) && service_change == Change::Unchanged && !network_created;
        if unchanged {
            self.printer.info(format!(
                "cluster {} is already deployed as asked: nothing changed",
                names.cluster
            ));
        } else {
            self.distribute(&nodes, &members, &key, &network.subnet).await?;
            self.printer.info(format!(
                "keys, known_hosts and hostfile in place in {:.2} s",
                files_started.elapsed().as_secs_f64()
            ));
        }
        for node in &nodes {
            node.close().await;
        }
        gateway.close().await;
        self.states.save(&state)?;
        self.print_summary(&members);
        Ok(())
    }

    /// The cluster's key: kept across deploys, new when there is none or the
    /// type changed.
    fn cluster_key(&self, previous: Option<&ClusterState>) -> Result<PrivateKey> {
        let name = &self.options.names.cluster;
        let path = self.states.key_path(name, self.options.key_type);
        if previous.is_some_and(|p| p.key_type == self.options.key_type) && path.exists() {
            return keys::load_private(&path);
        }
        self.states.create(name)?;
        let key = keys::generate(self.options.key_type)?;
        keys::save_private(&key, &path)?;
        Ok(key)
    }

    async fn ensure_network(&self) -> Result<(docker_cluster::OverlayNetwork, bool)> {
        let names = &self.options.names;
        if let Some(network) = docker_cluster::inspect_network(self.engine, names).await? {
            let subnet_differs = self.options.subnet.is_some_and(|s| s != network.subnet);
            if subnet_differs || (self.options.encrypted && !network.encrypted) {
                return Err(UserError::usage(format!(
                    "cluster {} already runs on network {} ({}{})",
                    names.cluster,
                    names.network(),
                    network.subnet,
                    if network.encrypted { ", encrypted" } else { "" }
                ))
                .hint(format!(
                    "a network cannot change in place: run `swarmpi down --name {}` first",
                    names.cluster
                ))
                .into());
            }
            return Ok((network, false));
        }
        let network = docker_cluster::create_network(
            self.engine,
            names,
            self.options.subnet,
            self.options.mtu,
            self.options.encrypted,
        )
        .await?;
        Ok((network, true))
    }

    fn report_changes(&self, network_created: bool, service: Change, gateway: Change) {
        let names = &self.options.names;
        if network_created {
            self.printer
                .info(format!("created overlay network {}", names.network()));
        }
        match service {
            Change::Created => self.printer.info(format!(
                "created service {}: {} per server on {} server(s)",
                names.service(),
                self.options.per_host,
                self.usable.len()
            )),
            Change::Updated => self.printer.info(format!(
                "reshaping service {} to {} container(s)",
                names.service(),
                self.replicas
            )),
            Change::Unchanged => {}
        }
        if gateway == Change::Created {
            self.printer
                .info(format!("started gateway {} (127.0.0.1 only)", names.gateway()));
        }
    }

    /// Polls the swarm until every container runs and reported its host key,
    /// failing fast on faults and when progress stalls.
    async fn wait_for_members(&self, subnet: &Subnet) -> Result<Vec<Member>> {
        let names = &self.options.names;
        let bar = self.printer.bar(u64::from(self.replicas), "containers running");
        let mut last_progress = (0usize, Instant::now());
        loop {
            let servers = membership::list_nodes(self.engine)
                .await
                .unwrap_or_else(|_| self.servers.clone());
            let seen = docker_cluster::observe(
                self.engine,
                names,
                subnet,
                &servers,
                self.options.per_host,
                self.options.slots,
            )
            .await?;
            bar.set_position(seen.members.len() as u64);
            if let Some(fault) = seen.faults.first() {
                bar.abandon();
                return Err(UserError::new(ExitCode::ClusterNotReady, fault.clone()).into());
            }
            if let Some(lost) = self.lost_server(&servers) {
                bar.abandon();
                return Err(lost.into());
            }
            if seen.members.len() == self.replicas as usize && seen.waiting == 0 {
                bar.finish();
                return Ok(seen.members);
            }
            if seen.members.len() != last_progress.0 {
                last_progress = (seen.members.len(), Instant::now());
            } else if last_progress.1.elapsed() > STALL_LIMIT {
                bar.abandon();
                return Err(self.stalled(&seen, &servers).into());
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    }

    /// A server the plan placed containers on that is no longer Ready and
    /// Active: its containers will not come, so say so now.
    fn lost_server(&self, servers: &[ServerNode]) -> Option<UserError> {
        let lost = self
            .usable
            .iter()
            .find(|planned| !servers.iter().any(|s| s.id == planned.id && s.usable()))?;
        let now = servers.iter().find(|s| s.id == lost.id);
        let state = now.map_or("gone from the swarm".to_string(), |s| {
            format!("{} ({})", s.state, s.availability)
        });
        Some(
            UserError::new(
                ExitCode::Unreachable,
                format!("server {} stopped answering during deploy: it is now {state}", lost.addr),
            )
            .hint("repair that server (is its Docker daemon running and reachable?), or drain it with `docker node update --availability drain`, then deploy again"),
        )
    }

    fn stalled(&self, seen: &docker_cluster::Observation, servers: &[ServerNode]) -> UserError {
        let down: Vec<String> = servers
            .iter()
            .filter(|s| !s.usable())
            .map(|s| format!("{} ({})", s.addr, s.state))
            .collect();
        let mut message = format!(
            "only {} of {} containers became ready within {} s",
            seen.members.len(),
            self.replicas,
            STALL_LIMIT.as_secs()
        );
        if !down.is_empty() {
            message.push_str(&format!("; servers not ready: {}", down.join(", ")));
        }
        if !seen.waiting_on.is_empty() {
            message.push_str(&format!("; waiting: {}", seen.waiting_on.join(", ")));
        }
        UserError::new(ExitCode::Unreachable, message)
            .hint("check `swarmpi status` and `docker service ps` on the manager; a server that stopped answering must be repaired or removed")
    }

    async fn connect(&self, gateway: &crate::ssh::session::Gateway, members: &[Member]) -> Result<Vec<Node>> {
        let bar = self.printer.bar(members.len() as u64, "sshd ready");
        let results = access::connect_members(gateway, members, SSH_PATIENCE, || bar.inc(1)).await;
        bar.finish();
        results
            .into_iter()
            .zip(members)
            .map(|(result, member)| {
                result.with_context(|| {
                    format!(
                        "container {} on server {} is not reachable over SSH",
                        member.hostname, member.server
                    )
                })
            })
            .collect()
    }

    async fn distribute(
        &self,
        nodes: &[Node],
        members: &[Member],
        key: &PrivateKey,
        subnet: &Subnet,
    ) -> Result<()> {
        let archive = Arc::new(cluster_files(members, key, self.options.key_type, subnet)?);
        let bar = self.printer.bar(nodes.len() as u64, "files distributed");
        let results = join_all(nodes.iter().map(|node| {
            let archive = archive.clone();
            let bar = bar.clone();
            async move {
                let output = node.exec(INSTALL_FILES, &archive).await?;
                if output.code != 0 {
                    anyhow::bail!(
                        "could not install the cluster files on {}: {}",
                        node.name,
                        output.stderr_text().trim()
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

    fn print_summary(&self, members: &[Member]) {
        self.printer.info(format!(
            "\n{:<16} {:<16} {:<16} {:>5}",
            "CONTAINER", "SERVER", "IP", "SLOTS"
        ));
        for m in members {
            self.printer.info(format!(
                "{:<16} {:<16} {:<16} {:>5}",
                m.hostname, m.server, m.ip, m.slots
            ));
        }
        self.printer.info(format!(
            "{} container(s) on {} server(s), {} slots; hostfile: ~/.swarmpi/hostfile in every container",
            members.len(),
            self.usable.len(),
            members::total_slots(members)
        ));
    }
}

/// Unpacks the cluster files into the MPI user's home, private to the user.
const INSTALL_FILES: &str =
    "umask 077 && mkdir -p ~/.ssh ~/.openmpi ~/.swarmpi && tar -x --no-same-owner -C ~ -f -";

/// The archive every container gets: identical everywhere, built once.
fn cluster_files(
    members: &[Member],
    key: &PrivateKey,
    key_type: KeyType,
    subnet: &Subnet,
) -> Result<Vec<u8>> {
    let key_file = key_type.file_name();
    let private = keys::private_openssh(key)?;
    let public = format!("{}\n", keys::public_openssh(key)?);
    let known_hosts = members::known_hosts(members);
    let config = members::ssh_config(members, key_file);
    let mca = members::mca_params(subnet);
    let hostfile = members::hostfile(members);
    let (private_path, public_path) = (format!(".ssh/{key_file}"), format!(".ssh/{key_file}.pub"));
    Ok(archive::pack(&[
        Entry::file(&private_path, private.as_bytes(), 0o600),
        Entry::file(&public_path, public.as_bytes(), 0o644),
        Entry::file(".ssh/known_hosts", known_hosts.as_bytes(), 0o644),
        Entry::file(".ssh/config", config.as_bytes(), 0o644),
        Entry::file(".openmpi/mca-params.conf", mca.as_bytes(), 0o644),
        Entry::file(".swarmpi/hostfile", hostfile.as_bytes(), 0o644),
    ])?)
}
