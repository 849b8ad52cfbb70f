//! Fitting a launch to where its ranks land: oversubscribe within reason,
//! and make idle ranks yield when a machine's cores are all taken, saying
//! so in one line each. The user's own `--mca mpi_yield_when_idle` wins.

use anyhow::Result;

use crate::access::OpenCluster;
use crate::cluster::members;
use crate::cluster::names::ClusterNames;
use crate::cluster::placement::{self, MachineLoad, Oversubscribe, YIELD_PARAM};
use crate::cluster::program::Launch;
use crate::context::Context;

/// The launch as it will run on this cluster.
pub fn fit(
    ctx: &Context,
    cluster: &OpenCluster,
    names: &ClusterNames,
    asked: &Launch,
    policy: Oversubscribe,
) -> Result<Launch> {
    let mut launch = asked.clone();
    let members = cluster.member_list();
    let slots = members::total_slots(&members);
    if placement::check_ranks(&names.cluster, launch.ranks, slots, policy)? {
        launch.oversubscribe = true;
        ctx.printer.info(format!(
            "note: {} ranks on {slots} slots: ranks share cores (--no-oversubscribe refuses instead)",
            launch.ranks
        ));
    }
    let loads = placement::machine_loads(&members, &cluster.servers, launch.ranks);
    if launch.mca_value(YIELD_PARAM).is_none() && placement::needs_yield(&members, &loads, launch.ranks) {
        launch.mca.push((YIELD_PARAM.to_string(), "1".to_string()));
        if let Some(full) = placement::full_machine(&loads) {
            ctx.printer.info(yield_note(full));
        }
    }
    Ok(launch)
}

fn yield_note(full: &MachineLoad) -> String {
    let mut servers = full.servers.clone();
    servers.sort();
    let servers = if servers.len() > 1 {
        format!("servers {} share one machine", servers.join(", "))
    } else {
        format!("server {}", servers.join(""))
    };
    format!(
        "note: {} ranks on {} CPUs ({servers}): idle ranks yield so the kernel can move their messages \
         (--mca {YIELD_PARAM} 0 to busy-poll)",
        full.ranks, full.cpus
    )
}
