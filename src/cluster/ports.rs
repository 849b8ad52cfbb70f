//! The ports a cluster on the servers' own network (`deploy --network
//! host`) uses on every server: one block per cluster, so two clusters and
//! the server's own sshd never meet. The block's first port is the
//! cluster's sshd; Open MPI's daemons and ranks listen on the rest (a
//! firewall opens the block between the servers, nothing else).

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::error::UserError;

/// Ports per cluster: sshd; 31 for Open MPI's daemons, one port per job
/// (mpirun and its orted on every other server all listen on it; Open MPI
/// binds every port of the list it is given, so each job gets its own);
/// 480 for ranks (each binds the first free one).
pub const BLOCK: u16 = 512;
/// Blocks are chosen from here up, below Linux's ephemeral ports (32768),
/// so an outgoing connection never holds a port a cluster needs.
pub const FIRST: u16 = 20000;
const EPHEMERAL: u16 = 32768;
const OOB_PORTS: u16 = 31;

/// A cluster's block of ports on every server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortBlock {
    pub base: u16,
}

impl PortBlock {
    /// A block starting at `base`, as `--port` gives it.
    pub fn new(base: u16) -> Result<PortBlock, UserError> {
        if !(1024..=u16::MAX - (BLOCK - 1)).contains(&base) {
            return Err(UserError::usage(format!(
                "--port {base} is out of range: a cluster uses {BLOCK} ports from it"
            ))
            .hint(format!(
                "choose a port from 1024 to {} (by default swarmpi picks a free block from {FIRST})",
                u16::MAX - (BLOCK - 1)
            )));
        }
        Ok(PortBlock { base })
    }

    /// The cluster's sshd.
    pub fn ssh(self) -> u16 {
        self.base
    }

    /// The daemons' port of each job `run` starts: the keeper gives each
    /// job one free port of these (`oob_tcp_dynamic_ipv4_ports`).
    pub fn jobs(self) -> RangeInclusive<u16> {
        self.base + 1..=self.base + OOB_PORTS - 1
    }

    /// The daemons' port of an mpirun started by hand (`exec`, `shell`,
    /// `bench`): one at a time.
    pub fn by_hand(self) -> u16 {
        self.base + OOB_PORTS
    }

    /// Open MPI's ranks: the first port and how many (`btl_tcp_port_*_v4`).
    pub fn btl(self) -> (u16, u16) {
        (self.base + 1 + OOB_PORTS, BLOCK - 1 - OOB_PORTS)
    }

    pub fn last(self) -> u16 {
        self.base + (BLOCK - 1)
    }

    /// `20000-20511`, as firewalls write a range.
    pub fn range(self) -> String {
        format!("{}-{}", self.base, self.last())
    }

    fn overlaps(self, other: PortBlock) -> bool {
        self.base <= other.last() && other.base <= self.last()
    }
}

/// The block for a new cluster: the one asked for, if no other cluster's
/// overlaps it, else the lowest free one from [`FIRST`].
pub fn choose(asked: Option<PortBlock>, taken: &[(String, PortBlock)]) -> Result<PortBlock, UserError> {
    if let Some(asked) = asked {
        return match taken.iter().find(|(_, t)| t.overlaps(asked)) {
            Some((cluster, t)) => Err(UserError::usage(format!(
                "ports {} overlap those of cluster {cluster} ({})",
                asked.range(),
                t.range()
            ))
            .hint("choose another --port, or leave it out and swarmpi picks a free block")),
            None => Ok(asked),
        };
    }
    (FIRST..EPHEMERAL - (BLOCK - 1))
        .step_by(usize::from(BLOCK))
        .map(|base| PortBlock { base })
        .find(|block| !taken.iter().any(|(_, t)| t.overlaps(*block)))
        .ok_or_else(|| {
            UserError::usage(format!(
                "every block of ports from {FIRST} to {EPHEMERAL} is taken by another cluster"
            ))
            .hint("remove a cluster (`swarmpi down --name NAME`) or choose a block with --port")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_holds_sshd_the_daemons_and_the_ranks_without_overlap() {
        let block = PortBlock::new(20000).unwrap();
        assert_eq!(block.ssh(), 20000);
        assert_eq!(block.jobs(), 20001..=20030);
        assert_eq!(block.by_hand(), 20031);
        assert_eq!(block.btl(), (20032, 480));
        assert_eq!(block.btl().0 + block.btl().1 - 1, block.last());
        assert_eq!(block.range(), "20000-20511");
    }

    #[test]
    fn ports_that_cannot_hold_a_block_are_refused() {
        assert!(PortBlock::new(22).is_err());
        assert!(PortBlock::new(65100).is_err());
        assert!(PortBlock::new(65024).is_ok());
    }

    #[test]
    fn a_new_cluster_gets_the_lowest_free_block() {
        assert_eq!(choose(None, &[]).unwrap().base, FIRST);
        let taken = vec![
            ("a".to_string(), PortBlock { base: 20000 }),
            ("b".to_string(), PortBlock { base: 20700 }),
        ];
        // 20512 would overlap b's 20700-21211.
        assert_eq!(choose(None, &taken).unwrap().base, 21536);
    }

    #[test]
    fn an_asked_block_that_overlaps_another_cluster_is_refused_naming_it() {
        let taken = vec![("cfd".to_string(), PortBlock { base: 20000 })];
        let error = choose(Some(PortBlock { base: 20500 }), &taken).unwrap_err();
        assert!(
            error.message.contains("cluster cfd (20000-20511)"),
            "{}",
            error.message
        );
        assert_eq!(
            choose(Some(PortBlock { base: 20512 }), &taken).unwrap().base,
            20512
        );
    }

    #[test]
    fn blocks_stay_below_the_ephemeral_ports() {
        let taken: Vec<(String, PortBlock)> = (0..24)
            .map(|i| {
                (
                    format!("c{i}"),
                    PortBlock {
                        base: FIRST + i * BLOCK,
                    },
                )
            })
            .inspect(|(_, b)| assert!(b.last() < EPHEMERAL))
            .collect();
        assert!(choose(None, &taken).is_err());
        assert_eq!(taken.len(), 24);
    }
}
