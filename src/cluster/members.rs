//! The cluster's containers as swarmpi knows them, and the files every
//! container gets from them: hostfile, known_hosts, ssh config, Open MPI
//! defaults. Pure functions of the member list.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::plan::Subnet;
use super::program::HOSTFILE;

/// One running container of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub task_id: String,
    pub slot: u32,
    pub hostname: String,
    pub node_id: String,
    /// The server's swarm address.
    pub server: String,
    pub ip: Ipv4Addr,
    pub slots: u32,
    /// The container's host key, `ssh-ed25519 AAAA...`, as it printed it.
    pub host_key: String,
}

/// Members in a stable order: by slot, which follows the hostnames.
pub fn sorted(mut members: Vec<Member>) -> Vec<Member> {
    members.sort_by_key(|m| m.slot);
    members
}

/// The head: where mpirun starts. The lowest slot, so it stays put across
/// reshapes that only add containers.
pub fn head(members: &[Member]) -> Option<&Member> {
    members.iter().min_by_key(|m| m.slot)
}

/// `IP slots=S`, one line per container: mpirun's hostfile.
pub fn hostfile(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| format!("{} slots={}\n", m.ip, m.slots))
        .collect()
}

/// Every container by name and by IP with its real host key.
pub fn known_hosts(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| format!("{},{} {}\n", m.hostname, m.ip, m.host_key.trim()))
        .collect()
}

/// Names resolve through ssh's own config (the containers' /etc/hosts is
/// Docker's); host keys are always checked.
pub fn ssh_config(members: &[Member], identity_file: &str) -> String {
    let mut text = String::new();
    for m in members {
        text.push_str(&format!("Host {}\n    HostName {}\n", m.hostname, m.ip));
    }
    text.push_str(&format!(
        "Host *\n    IdentityFile ~/.ssh/{identity_file}\n    StrictHostKeyChecking yes\n    BatchMode yes\n    ConnectTimeout 10\n"
    ));
    text
}

/// Open MPI's per-user defaults. Without the interface pinning, mpirun across
/// servers hangs: it tries the docker_gwbridge address, which other servers
/// cannot reach. The deployed hostfile becomes mpirun's default.
pub fn mca_params(subnet: &Subnet) -> String {
    format!(
        "# written by swarmpi deploy\nbtl_tcp_if_include = {subnet}\noob_tcp_if_include = {subnet}\n\
         orte_default_hostfile = {HOSTFILE}\n"
    )
}

/// Total slots of the cluster.
pub fn total_slots(members: &[Member]) -> u32 {
    members.iter().map(|m| m.slots).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(slot: u32, ip: &str) -> Member {
        Member {
            task_id: format!("task{slot}"),
            slot,
            hostname: format!("mpi-{slot}"),
            node_id: "node".into(),
            server: "10.77.0.2".into(),
            ip: ip.parse().unwrap(),
            slots: 2,
            host_key: format!("ssh-ed25519 KEY{slot}"),
        }
    }

    #[test]
    fn writes_hostfile_and_known_hosts_for_every_member() {
        let members = sorted(vec![member(2, "10.0.1.4"), member(1, "10.0.1.3")]);
        assert_eq!(hostfile(&members), "10.0.1.3 slots=2\n10.0.1.4 slots=2\n");
        assert_eq!(
            known_hosts(&members),
            "mpi-1,10.0.1.3 ssh-ed25519 KEY1\nmpi-2,10.0.1.4 ssh-ed25519 KEY2\n"
        );
        assert_eq!(head(&members).unwrap().hostname, "mpi-1");
        assert_eq!(total_slots(&members), 4);
    }

    #[test]
    fn ssh_config_maps_names_and_keeps_host_key_checking() {
        let text = ssh_config(&[member(1, "10.0.1.3")], "id_rsa");
        assert!(text.contains("Host mpi-1\n    HostName 10.0.1.3\n"));
        assert!(text.contains("StrictHostKeyChecking yes"));
        assert!(!text.contains("StrictHostKeyChecking no"));
    }

    #[test]
    fn pins_both_transports_to_the_overlay() {
        let text = mca_params(&Subnet::parse("10.0.1.0/24").unwrap());
        assert!(text.contains("btl_tcp_if_include = 10.0.1.0/24"));
        assert!(text.contains("oob_tcp_if_include = 10.0.1.0/24"));
        assert!(text.contains("orte_default_hostfile = /home/mpi/.swarmpi/hostfile"));
    }
}
