//! `swarmpi deploy`: a ready MPI cluster across every server of the swarm —
//! overlay network, N containers per server, a fresh key pair, known_hosts,
//! hostfile and Open MPI defaults in every container (see `converge`).

use anyhow::Result;

use crate::cli::{DeployArgs, KeyTypeArg, NetworkArg};
use crate::cluster::names::ClusterNames;
use crate::cluster::plan::{self, Subnet};
use crate::cluster::ports::PortBlock;
use crate::cluster::resources::{self, Resources};
use crate::context::Context;
use crate::converge::{self, Plane, Request};
use crate::error::{Outcome, UserError};
use crate::ssh::KeyType;
use crate::swarm::network::NetworkOptions;

/// Checks everything that needs no Docker, so bad input fails at once.
impl TryFrom<DeployArgs> for Request {
    type Error = anyhow::Error;

    fn try_from(args: DeployArgs) -> Result<Request> {
        let plane = plane(&args)?;
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
            plane,
        })
    }
}

/// The data plane asked for, refusing options that do not fit it.
fn plane(args: &DeployArgs) -> Result<Plane, UserError> {
    if args.network == NetworkArg::Overlay {
        if args.port.is_some() {
            return Err(UserError::usage(
                "--port is for --network host: on the overlay every container has its own address",
            )
            .hint("add --network host, or leave --port out"));
        }
        return Ok(Plane::Overlay);
    }
    let refuse = |option: &str, why: &str| {
        Err(
            UserError::usage(format!("{option} does not fit --network host: {why}")).hint(format!(
                "leave {option} out, or deploy on the overlay (without --network host)"
            )),
        )
    };
    if args.per_host > 1 {
        return refuse(
            "--per-host above 1",
            "a container on the servers' own network shares its server's addresses and ports, so one per server;              it gets every CPU as slots, and its ranks share memory",
        );
    }
    if args.encrypted {
        return refuse(
            "--encrypted",
            "it encrypts the overlay, which MPI does not use on the servers' network",
        );
    }
    if args.mtu.is_some() {
        return refuse("--mtu", "the servers' network has its own MTU");
    }
    let port = args.port.map(PortBlock::new).transpose()?;
    Ok(Plane::Host { port })
}

pub async fn run(ctx: &Context, request: Request) -> Result<Outcome> {
    converge::deploy(ctx, &request).await?;
    Ok(Outcome::Success)
}
