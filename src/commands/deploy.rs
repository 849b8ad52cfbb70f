//! `swarmpi deploy`: a ready MPI cluster across every server of the swarm —
//! overlay network, N containers per server, a fresh key pair, known_hosts,
//! hostfile and Open MPI defaults in every container (see `converge`).

use anyhow::Result;

use crate::cli::{DeployArgs, KeyTypeArg};
use crate::cluster::names::ClusterNames;
use crate::cluster::plan::{self, Subnet};
use crate::cluster::resources::{self, Resources};
use crate::context::Context;
use crate::converge::{self, Request};
use crate::error::Outcome;
use crate::ssh::KeyType;
use crate::swarm::network::NetworkOptions;

/// Checks everything that needs no Docker, so bad input fails at once.
impl TryFrom<DeployArgs> for Request {
    type Error = anyhow::Error;

    fn try_from(args: DeployArgs) -> Result<Request> {
        let names: ClusterNames = args.cluster.try_into()?;
        plan::check_per_host(args.per_host)?;
        plan::check_slots(args.slots)?;
        plan::check_mtu(args.mtu)?;
        let subnet = args.subnet.as_deref().map(Subnet::parse).transpose()?;
        let resources = Resources {
            cpus: args.cpus.as_deref().map(resources::parse_cpus).transpose()?,
            memory: args
                .memory
                .as_deref()
                .map(|m| resources::parse_bytes("--memory", m))
                .transpose()?,
            shm: args
                .shm_size
                .as_deref()
                .map(|s| resources::parse_bytes("--shm-size", s))
                .transpose()?,
        };
        Ok(Request {
            names,
            per_host: args.per_host,
            // The slots follow a CPU limit, unless given.
            slots: args.slots.or(resources.slots_from_cpus()),
            resources,
            image: args.image,
            network: NetworkOptions {
                subnet,
                mtu: args.mtu,
                encrypted: args.encrypted,
            },
            key_type: match args.key_type {
                KeyTypeArg::Rsa => KeyType::Rsa,
                KeyTypeArg::Ed25519 => KeyType::Ed25519,
            },
            rotate_key: args.rotate_key,
        })
    }
}

pub async fn run(ctx: &Context, request: Request) -> Result<Outcome> {
    converge::deploy(ctx, &request).await?;
    Ok(Outcome::Success)
}
