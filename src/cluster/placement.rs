//! Where a job's ranks land and what that asks of Open MPI: how many ranks
//! each container gets (as mpirun's default by-slot mapping places them),
//! how many each machine gets (servers that share one machine count as one),
//! whether ranks must yield when idle, and whether the count oversubscribes.
//!
//! Why yield: a busy-polling rank never sleeps. When a machine's ranks are as
//! many as its cores, the kernel's softirq work that moves packets through
//! veth and VXLAN waits for a scheduler tick (4 ms), so every message between
//! containers takes 4 ms. Containers cannot see that they share cores, so
//! Open MPI does not notice; swarmpi knows where ranks land and does.

use std::collections::BTreeMap;

use super::members::{Member, launch_order};
use super::servers::Server;
use crate::error::UserError;

/// More ranks than this many per slot is a typo, not an oversubscription.
pub const OVERSUBSCRIBE_LIMIT: u32 = 8;
/// The MCA parameter that makes idle ranks yield the core.
pub const YIELD_PARAM: &str = "mpi_yield_when_idle";

/// How many ranks beyond the slots the user allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversubscribe {
    /// Up to [`OVERSUBSCRIBE_LIMIT`] ranks per slot, with a note.
    Sensible,
    /// `--oversubscribe`: any count.
    Any,
    /// `--no-oversubscribe`: mpirun's strict refusal, no more ranks than slots.
    Never,
}

/// Ranks per container, in `slots` order (the hostfile's, see
/// [`launch_order`]), as Open MPI 4.1's by-slot mapper places them: each container's slots filled in order; ranks beyond all
/// slots spread evenly, the first containers taking the remainder.
pub fn ranks_per_container(slots: &[u32], ranks: u32) -> Vec<u32> {
    let mut left = ranks;
    let mut placed: Vec<u32> = slots
        .iter()
        .map(|&s| {
            let take = s.min(left);
            left -= take;
            take
        })
        .collect();
    if left > 0 && !placed.is_empty() {
        let count = placed.len() as u32;
        for (i, n) in placed.iter_mut().enumerate() {
            *n += left / count + u32::from((i as u32) < left % count);
        }
    }
    placed
}

/// One machine and the ranks a job puts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineLoad {
    /// The servers on it (their addresses), in order.
    pub servers: Vec<String>,
    pub cpus: u32,
    pub ranks: u32,
}

/// Servers reporting the same hostname and CPU count share one machine (as
/// simulated servers on one host do); ranks per machine follow.
pub fn machine_loads(members: &[Member], servers: &[Server], ranks: u32) -> Vec<MachineLoad> {
    let ordered = launch_order(members);
    let slots: Vec<u32> = ordered.iter().map(|m| m.slots).collect();
    let placed = ranks_per_container(&slots, ranks);
    let mut machines: BTreeMap<(String, u32), MachineLoad> = BTreeMap::new();
    for (member, n) in ordered.iter().zip(placed) {
        let server = servers.iter().find(|s| s.addr == member.server);
        let (hostname, cpus) = server.map_or((member.server.clone(), 1), |s| (s.hostname.clone(), s.cpus));
        let load = machines.entry((hostname, cpus)).or_insert_with(|| MachineLoad {
            servers: Vec::new(),
            cpus,
            ranks: 0,
        });
        if !load.servers.contains(&member.server) {
            load.servers.push(member.server.clone());
        }
        load.ranks += n;
    }
    machines.into_values().collect()
}

/// Whether ranks must yield when idle: some machine holds at least as many
/// ranks as it has cores, and the job crosses containers (ranks of one
/// container talk through shared memory and need no kernel help).
pub fn needs_yield(members: &[Member], loads: &[MachineLoad], ranks: u32) -> bool {
    let slots: Vec<u32> = launch_order(members).iter().map(|m| m.slots).collect();
    let containers_used = ranks_per_container(&slots, ranks)
        .iter()
        .filter(|&&n| n > 0)
        .count();
    containers_used > 1 && full_machine(loads).is_some()
}

/// A machine whose cores the job's ranks all take, if any.
pub fn full_machine(loads: &[MachineLoad]) -> Option<&MachineLoad> {
    loads.iter().find(|m| m.ranks >= m.cpus)
}

/// Checks the rank count against the cluster's slots; true when the job
/// oversubscribes (mpirun then needs `--oversubscribe`).
pub fn check_ranks(cluster: &str, ranks: u32, slots: u32, policy: Oversubscribe) -> Result<bool, UserError> {
    if ranks <= slots {
        return Ok(false);
    }
    match policy {
        Oversubscribe::Any => Ok(true),
        Oversubscribe::Sensible if ranks <= slots.saturating_mul(OVERSUBSCRIBE_LIMIT) => Ok(true),
        Oversubscribe::Sensible => Err(UserError::usage(format!(
            "-n {ranks} is more than {OVERSUBSCRIBE_LIMIT} ranks per slot of cluster {cluster} ({slots} slots)"
        ))
        .hint("deploy more containers or --slots, or pass --oversubscribe to run that many anyway")),
        Oversubscribe::Never => Err(UserError::usage(format!(
            "-n {ranks} asks for more ranks than cluster {cluster} has slots ({slots})"
        ))
        .hint("leave out --no-oversubscribe to let ranks share cores, or deploy more containers or --slots")),
    }
}

#[cfg(test)]
#[path = "placement_tests.rs"]
mod tests;
