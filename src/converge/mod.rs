//! Deploy's converge: make the swarm hold the cluster asked for — network,
//! key secret, service, gateway — wait for its containers, then give every
//! container the key, known_hosts, hostfile and Open MPI defaults. A failed
//! or interrupted first deploy removes what it made.

mod members;
mod report;

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cluster::digest;
use crate::cluster::members::{DataPath, cluster_files, gateway_authorized_key};
use crate::cluster::names::ClusterNames;
use crate::cluster::plan;
use crate::cluster::ports::{self, PortBlock};
use crate::cluster::resources::Resources;
use crate::cluster::servers::Server;
use crate::context::Context;
use crate::error::UserError;
use crate::interrupt::Cancel;
use crate::ssh::{ClusterKey, KeyType};
use crate::state::{ClusterLock, ClusterState, StateDir, write_atomically};
use crate::swarm::network::{self, NetworkOptions, OverlayNetwork};
use crate::swarm::service::{self, Change, ServiceShape};
use crate::swarm::{Engine, gateway, image, membership, removal, secret};
use crate::wait::Wait;

/// How long a failed first deploy may take to remove what it made.
const ROLLBACK_WAIT: Duration = Duration::from_secs(30);
/// How long a deploy or down waits for another one on the same cluster.
const LOCK_WAIT: Duration = Duration::from_secs(600);

/// The cluster a deploy is asked for.
pub struct Request {
    pub names: ClusterNames,
    pub per_host: u32,
    pub slots: Option<u32>,
    pub image: Option<String>,
    pub network: NetworkOptions,
    pub key_type: KeyType,
    pub resources: Resources,
    /// Make a new cluster key and put it everywhere in place of the old.
    pub rotate_key: bool,
    pub plane: Plane,
}

/// Where MPI's traffic between containers goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    /// The cluster's overlay network (VXLAN between servers).
    Overlay,
    /// The servers' own network: one container per server, its sshd on the
    /// cluster's port (`port`, or the block it had, or a free one).
    Host { port: Option<PortBlock> },
}

/// Deploys (or reshapes) the cluster; on failure of a first deploy, removes
/// what it created.
pub async fn deploy(ctx: &Context, request: &Request) -> Result<()> {
    let engine = Engine::connect(&ctx.settings).await?;
    membership::require_manager(&engine).await?;
    let (usable, replicas, image) = check_plan(&engine, &ctx.settings, request).await?;
    let states = StateDir::new(&ctx.settings.state_dir);
    let _lock = hold_lock(ctx, &states, &request.names).await?;
    let previous = states.load(&request.names.cluster)?;
    // Only a first deploy (no state here, no service on the swarm) removes
    // what it made when it fails. A cluster that runs without state here is
    // adopted: a new key is made and given to every container.
    let on_swarm = service::exists(&engine, &request.names).await?;
    let first = previous.is_none() && !on_swarm;
    if previous.is_none() && on_swarm {
        ctx.printer.info(format!(
            "adopting cluster {}: it runs on the swarm but this manager has no state for it; \
             a new key replaces the old one in every container",
            request.names.cluster
        ));
    }
    let started = Instant::now();
    let converge = Converge {
        ctx,
        engine: &engine,
        request,
        states: &states,
        image,
        replicas,
        usable,
        started,
    };
    match converge.run(previous).await {
        Ok(()) => {
            let took = started.elapsed().as_secs_f64();
            ctx.printer
                .info(format!("cluster {} ready in {took:.1} s", request.names.cluster));
            Ok(())
        }
        Err(error) if first => {
            rollback(ctx, &engine, &states, &request.names).await;
            Err(error)
        }
        Err(error) => Err(error),
    }
}

/// Checks the request against the swarm before anything is made: usable
/// servers, subnet capacity and overlaps, the image on this manager.
/// Returns the usable servers, the container count and the image.
async fn check_plan(
    engine: &Engine,
    settings: &crate::config::Settings,
    request: &Request,
) -> Result<(Vec<Server>, u32, String)> {
    let servers = membership::list_nodes(engine).await?;
    let usable: Vec<Server> = servers.iter().filter(|s| s.usable()).cloned().collect();
    let replicas = plan::replicas(usable.len(), request.per_host)?;
    plan::check_fits(request.network.subnet, replicas, usable.len() as u32)?;
    if let Some(subnet) = request.network.subnet {
        let taken = network::subnets_in_use(engine, &request.names).await?;
        let addrs: Vec<_> = servers.iter().filter_map(|s| s.addr.parse().ok()).collect();
        plan::check_overlap(subnet, &taken, &addrs)?;
    }
    // By default, the image `init` (or `image`) last made here.
    let image = match &request.image {
        Some(image) => image.clone(),
        None => StateDir::new(&settings.state_dir).node_image_or_default()?.image,
    };
    if !image::image_exists(engine, &image).await? {
        return Err(
            UserError::usage(format!("the node image {image} is not on this manager"))
                .hint("run `swarmpi init` here (it builds the image), or pass --image with a local image")
                .into(),
        );
    }
    Ok((usable, replicas, image))
}

/// The cluster's lock, waiting (and saying so once) while another deploy,
/// repair or down of the same cluster runs.
pub async fn hold_lock(ctx: &Context, states: &StateDir, names: &ClusterNames) -> Result<ClusterLock> {
    let mut told = false;
    let what = format!("another swarmpi command on cluster {} to finish", names.cluster);
    Wait::new(what, LOCK_WAIT, &ctx.cancel)
        .every(Duration::from_millis(200))
        .until(async || match states.try_lock(&names.cluster)? {
            Ok(lock) => Ok(Some(lock)),
            Err(holder) => {
                if !told {
                    ctx.printer.info(format!(
                        "waiting for another swarmpi command on cluster {} (pid {holder}) to finish",
                        names.cluster
                    ));
                    told = true;
                }
                Ok(None)
            }
        })
        .await
}

/// Deploys the cluster again as its state says, quietly: learns replaced
/// containers' host keys and addresses, re-creates a missing gateway, and
/// gives every container the files again.
pub async fn repair(ctx: &Context, state: &ClusterState) -> Result<()> {
    let request = Request {
        names: ClusterNames::new(&state.name)?,
        per_host: state.per_host,
        slots: state.slots,
        image: Some(state.image.clone()),
        network: NetworkOptions {
            subnet: None,
            mtu: None,
            encrypted: false,
        },
        key_type: state.key_type,
        resources: state.resources,
        rotate_key: false,
        plane: match state.host_ports {
            Some(block) => Plane::Host { port: Some(block) },
            None => Plane::Overlay,
        },
    };
    deploy(&ctx.quieter(), &request).await
}

/// Removes what a failed first deploy created, even after Ctrl-C.
async fn rollback(ctx: &Context, engine: &Engine, states: &StateDir, names: &ClusterNames) {
    let cluster = &names.cluster;
    ctx.printer.warn(format!(
        "deploy failed: removing what it created for cluster {cluster}"
    ));
    let removal = removal::remove_cluster(engine, names, ROLLBACK_WAIT, &Cancel::never()).await;
    if !removal.left.is_empty() {
        let left = removal.left.join("; ");
        ctx.printer.warn(format!(
            "could not remove everything ({left}); run `swarmpi down --name {cluster}`"
        ));
    }
    let _ = states.remove(cluster);
}

/// One deploy in progress.
struct Converge<'a> {
    ctx: &'a Context,
    engine: &'a Engine,
    request: &'a Request,
    states: &'a StateDir,
    image: String,
    replicas: u32,
    /// The servers the plan places containers on.
    usable: Vec<Server>,
    started: Instant,
}

impl Converge<'_> {
    /// The most slots a container gets on any server of the plan.
    fn max_slots(&self) -> u32 {
        let cpus = self.usable.iter().map(|s| s.cpus).max().unwrap_or(1);
        plan::slots_for(cpus, self.request.per_host, self.request.slots)
    }

    async fn run(&self, previous: Option<ClusterState>) -> Result<()> {
        let names = &self.request.names;
        let host_ports = self.host_ports(previous.as_ref()).await?;
        let key = self.cluster_key(previous.as_ref())?;
        let manager_key = self.gateway_key()?;
        let gateway_public = manager_key.public_openssh()?;
        let (network, network_created) = self.ensure_network().await?;
        let secret = self.key_secret(&manager_key).await?;
        let shape = self.service_shape(&secret, host_ports);
        // The gateway's start (its first attachment to a new overlay network)
        // is as slow as the containers': start both at once.
        let (service_change, gateway) = tokio::join!(
            service::ensure(self.engine, names, &shape),
            gateway::ensure(self.engine, names, &self.image, &gateway_public, &self.ctx.cancel)
        );
        let (service_change, (gateway_info, gateway_change)) = (service_change?, gateway?);
        secret::remove_stale(self.engine, names, &secret.name).await?;
        self.report_changes(network_created, service_change, gateway_change);
        self.phase("network, secret, service and gateway in place");

        let members = self.wait_for_members(&network.subnet, host_ports).await?;
        self.phase("every container running with its host key");
        let line = gateway_authorized_key(&gateway_public, &members);
        gateway::authorize(self.engine, names, &line).await?;
        let path = host_ports.map_or(DataPath::Overlay(&network.subnet), DataPath::Host);
        let files = key.with_files(|key| cluster_files(&members, key, path))??;
        let state = ClusterState {
            name: names.cluster.clone(),
            image: self.image.clone(),
            per_host: self.request.per_host,
            slots: self.request.slots,
            key_type: self.request.key_type,
            subnet: network.subnet.to_string(),
            members,
            files_sha256: digest::sha256_hex(&files),
            resources: self.request.resources,
            host_ports,
        };
        let unchanged =
            previous.as_ref() == Some(&state) && service_change == Change::Unchanged && !network_created;
        let files = (!unchanged).then_some(files.as_slice());
        self.install_files(
            &gateway_info,
            &manager_key,
            &state.members,
            files,
            network.encrypted,
        )
        .await?;
        self.phase("every container reached over SSH and given its files");
        self.states.save(&state)?;
        self.print_summary(&state.members);
        Ok(())
    }

    fn service_shape(&self, secret: &secret::KeySecret, host_ports: Option<PortBlock>) -> ServiceShape {
        ServiceShape {
            image: self.image.clone(),
            replicas: self.replicas,
            per_host: self.request.per_host,
            secret: secret.clone(),
            resources: self.request.resources,
            shm_bytes: self.request.resources.shm_bytes(self.max_slots()),
            host_ports,
        }
    }

    /// With `-v`: how long the deploy took to reach a step.
    fn phase(&self, reached: &str) {
        let at = self.started.elapsed().as_secs_f64();
        self.ctx.printer.debug(format!("{at:6.2} s  {reached}"));
    }

    /// The secret containers let the manager in by: the manager's key, not
    /// the cluster key (which reaches them with the cluster files, so it
    /// can be rotated in place).
    async fn key_secret(&self, manager_key: &ClusterKey) -> Result<secret::KeySecret> {
        let public = manager_key.public_openssh()?;
        let names = &self.request.names;
        secret::ensure_key_secret(self.engine, names, &public, &manager_key.short_fingerprint()).await
    }

    /// The manager's own key for the gateway: kept, new when there is none.
    fn gateway_key(&self) -> Result<ClusterKey> {
        let name = &self.request.names.cluster;
        let path = self.states.gateway_key_path(name);
        if path.exists() {
            return ClusterKey::load(&path, KeyType::Ed25519);
        }
        self.states.create(name)?;
        let key = ClusterKey::generate(KeyType::Ed25519)?;
        write_atomically(&path, key.private_openssh()?.as_bytes(), 0o600)?;
        Ok(key)
    }

    /// The cluster's key: kept across deploys, new when there is none,
    /// the type changed or a rotation was asked for.
    fn cluster_key(&self, previous: Option<&ClusterState>) -> Result<ClusterKey> {
        let (name, key_type) = (&self.request.names.cluster, self.request.key_type);
        let path = self.states.key_path(name, key_type);
        let kept = previous.is_some_and(|p| p.key_type == key_type) && path.exists();
        if kept && !self.request.rotate_key {
            return ClusterKey::load(&path, key_type);
        }
        if kept {
            self.ctx.printer.info(format!(
                "rotating the key of cluster {name}: every container gets a new one, the old one is refused"
            ));
        }
        self.states.create(name)?;
        let key = ClusterKey::generate(key_type)?;
        write_atomically(&path, key.private_openssh()?.as_bytes(), 0o600)?;
        Ok(key)
    }

    /// On the servers' own network, the cluster's ports: those asked for,
    /// else those it had, else a free block; none on the overlay. A
    /// cluster does not change its network in place.
    async fn host_ports(&self, previous: Option<&ClusterState>) -> Result<Option<PortBlock>> {
        let names = &self.request.names;
        let had = previous.map(|p| p.host_ports);
        let asked = match self.request.plane {
            Plane::Overlay => None,
            Plane::Host { port } => Some(port),
        };
        if let Some(had) = had
            && had.is_some() != asked.is_some()
        {
            let (now, then) = match had {
                Some(_) => ("the servers' own network (--network host)", "the overlay"),
                None => ("the overlay", "the servers' own network"),
            };
            return Err(UserError::usage(format!(
                "cluster {} runs on {now}: it cannot move to {then} in place",
                names.cluster
            ))
            .hint(format!(
                "run `swarmpi down --name {}` first, or deploy another cluster with --name",
                names.cluster
            ))
            .into());
        }
        let Some(asked) = asked else {
            return Ok(None);
        };
        let asked = asked.or(had.flatten());
        let taken = service::port_blocks_in_use(self.engine, names).await?;
        Ok(Some(ports::choose(asked, &taken)?))
    }

    /// The existing network if it fits the request, else a new one; true
    /// when created.
    async fn ensure_network(&self) -> Result<(OverlayNetwork, bool)> {
        let names = &self.request.names;
        let wanted = self.request.network;
        let Some(network) = network::inspect(self.engine, names, &self.ctx.cancel).await? else {
            let created = network::create(self.engine, names, wanted, &self.ctx.cancel).await?;
            return Ok((created, true));
        };
        let subnet_differs = wanted.subnet.is_some_and(|s| s != network.subnet);
        if subnet_differs || (wanted.encrypted && !network.encrypted) {
            let encrypted = if network.encrypted { ", encrypted" } else { "" };
            return Err(UserError::usage(format!(
                "cluster {} already runs on network {} ({}{encrypted})",
                names.cluster,
                names.network(),
                network.subnet
            ))
            .hint(format!(
                "a network cannot change in place: run `swarmpi down --name {}` first",
                names.cluster
            ))
            .into());
        }
        Ok((network, false))
    }
}
