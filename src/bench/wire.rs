//! The wire: the same ping-pong between the servers themselves, run in a
//! temporary cluster on the servers' own network (one container per
//! server, as `deploy --network host` makes them), which is removed
//! afterwards whatever happens, Ctrl-C included.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Result;

use super::{PINGPONG, measure_pair};
use crate::access::OpenCluster;
use crate::cluster::members::KeyType;
use crate::cluster::names::{ClusterNames, MAX_NAME};
use crate::cluster::pairs::{self, Class, Measured};
use crate::cluster::resources::Resources;
use crate::context::Context;
use crate::converge::{self, Plane, Request};
use crate::error::UserError;
use crate::heal;
use crate::interrupt::Cancel;
use crate::job::{self, LocalProgram};
use crate::state::StateDir;
use crate::swarm::network::NetworkOptions;
use crate::swarm::{Engine, removal, service};

const REMOVE_LIMIT: Duration = Duration::from_secs(30);

/// The wire between each pair of servers (addresses in sorted order).
pub type WireFigures = HashMap<(String, String), Measured>;

/// The key of a pair of servers, whichever comes first.
pub fn servers_key(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// The temporary cluster's name: the cluster's own, marked.
fn wire_names(of: &ClusterNames) -> Result<ClusterNames, UserError> {
    let stem: String = of.cluster.chars().take(MAX_NAME - 5).collect();
    ClusterNames::new(&format!("{}-wire", stem.trim_end_matches('-')))
}

/// Measures the wire between every pair of `cluster`'s servers; `mca` is
/// passed to each mpirun, as for the cluster's own pairs.
pub async fn measure(
    ctx: &Context,
    of: &ClusterNames,
    cluster: &OpenCluster,
    mca: &[(String, String)],
) -> Result<WireFigures> {
    let names = wire_names(of)?;
    let engine = Engine::connect(&ctx.settings).await?;
    let states = StateDir::new(&ctx.settings.state_dir);
    if states.load(&names.cluster)?.is_some() || service::exists(&engine, &names).await? {
        return Err(UserError::usage(format!(
            "a cluster named {} exists: bench measures the wire in a temporary cluster of that name",
            names.cluster
        ))
        .hint("run bench with --no-wire, or remove that cluster")
        .into());
    }
    let spinner = ctx
        .printer
        .spinner("measuring the wire: a temporary container per server on the servers' own network");
    let quiet = ctx.quieter();
    let request = Request {
        names: names.clone(),
        per_host: 1,
        slots: None,
        image: Some(cluster.image.clone()),
        network: NetworkOptions::default(),
        key_type: KeyType::Ed25519,
        resources: Resources::default(),
        rotate_key: false,
        plane: Plane::Host { port: None },
    };
    let measured = async {
        converge::deploy(&quiet, &request).await?;
        heal::with_cluster(&quiet, &names, async |wire| cross_pairs(&quiet, wire, mca).await).await
    }
    .await;
    let _lock = converge::hold_lock(&quiet, &states, &names).await;
    let removed = removal::remove_cluster(&engine, &names, REMOVE_LIMIT, &Cancel::never()).await;
    spinner.finish_and_clear();
    if removed.left.is_empty() {
        states.remove(&names.cluster)?;
    } else {
        ctx.printer.warn(format!(
            "could not remove the wire's temporary cluster ({}); run `swarmpi down --name {}`",
            removed.left.join("; "),
            names.cluster
        ));
    }
    measured
}

/// The ping-pong between the first containers of every pair of servers.
async fn cross_pairs(ctx: &Context, wire: &OpenCluster, mca: &[(String, String)]) -> Result<WireFigures> {
    let local = LocalProgram::shipped_source("swarmpi_pingpong.c", PINGPONG)?;
    let program = job::prepare(ctx, wire, &local).await?;
    let mut figures = WireFigures::new();
    let cross = pairs::pairs(&wire.member_list())
        .into_iter()
        .filter(|p| p.class == Class::CrossServer);
    for pair in cross {
        let measuring = measure_pair(wire, &pair, mca, &program);
        let (_, measured) = ctx.cancel.guard("measuring the wire", measuring).await?;
        let (a, b) = (&wire.members[pair.a], &wire.members[pair.b]);
        figures.insert(servers_key(&a.server, &b.server), measured);
    }
    Ok(figures)
}
