//! The cluster's containers as swarmpi knows them, and the files every
//! container gets from them: key pair, hostfile, known_hosts, ssh config,
//! Open MPI defaults. Pure functions of the member list.

use super::layout::in_archive;
use super::remote::Remote;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::archive::{self, Entry};
use super::layout::HOSTFILE;
use super::plan::Subnet;
use super::ports::PortBlock;

/// sshd's port in a container on the overlay (its own network namespace).
pub const OVERLAY_SSH_PORT: u16 = 22;

fn overlay_ssh_port() -> u16 {
    OVERLAY_SSH_PORT
}

/// One running container of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub task_id: String,
    pub slot: u32,
    pub hostname: String,
    /// The server's swarm address.
    pub server: String,
    /// Where its sshd listens: an overlay address, or (on the servers'
    /// own network) the server's address.
    pub ip: Ipv4Addr,
    #[serde(default = "overlay_ssh_port")]
    pub port: u16,
    pub slots: u32,
    /// The container's host key, `ssh-ed25519 AAAA...`, as it printed it.
    pub host_key: String,
}

impl Member {
    /// Where its sshd listens.
    pub fn ssh_addr(&self) -> std::net::SocketAddrV4 {
        std::net::SocketAddrV4::new(self.ip, self.port)
    }

    /// How ssh's known_hosts names it: `NAME,IP`, or `[NAME]:PORT,[IP]:PORT`
    /// off port 22.
    pub fn known_hosts_names(&self) -> String {
        if self.port == OVERLAY_SSH_PORT {
            format!("{},{}", self.hostname, self.ip)
        } else {
            format!(
                "[{}]:{port},[{}]:{port}",
                self.hostname,
                self.ip,
                port = self.port
            )
        }
    }
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

/// The order mpirun fills containers in: server by server (the head's
/// first), by slot within a server. Consecutive ranks then share a server,
/// where messages cross a local bridge instead of VXLAN between servers
/// (14 us against 20 us on the lab; more on real networks).
pub fn launch_order(members: &[Member]) -> Vec<Member> {
    let sorted = sorted(members.to_vec());
    let mut servers: Vec<&str> = Vec::new();
    for m in &sorted {
        if !servers.contains(&m.server.as_str()) {
            servers.push(&m.server);
        }
    }
    let rank = |m: &Member| servers.iter().position(|s| *s == m.server);
    let mut ordered = sorted.clone();
    ordered.sort_by_key(|m| (rank(m), m.slot));
    ordered
}

/// `IP slots=S`, one line per container in launch order: mpirun's hostfile.
pub fn hostfile(members: &[Member]) -> String {
    launch_order(members)
        .iter()
        .map(|m| format!("{} slots={}\n", m.ip, m.slots))
        .collect()
}

/// Every container by name and by IP with its real host key.
pub fn known_hosts(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| format!("{} {}\n", m.known_hosts_names(), m.host_key.trim()))
        .collect()
}

/// Names resolve through ssh's own config (the containers' /etc/hosts is
/// Docker's); host keys are always checked.
pub fn ssh_config(members: &[Member], identity_file: &str) -> String {
    let mut text = String::new();
    for m in members {
        text.push_str(&format!("Host {}\n    HostName {}\n", m.hostname, m.ip));
    }
    // mpirun connects by address: every member of a cluster listens on one port.
    let port = members.first().map_or(OVERLAY_SSH_PORT, |m| m.port);
    text.push_str(&format!(
        "Host *\n    Port {port}\n    IdentityFile ~/.ssh/{identity_file}\n    StrictHostKeyChecking yes\n    BatchMode yes\n    ConnectTimeout 10\n"
    ));
    text
}

/// Shared memory's fragment for large messages between ranks of one
/// container (bytes).
const VADER_FRAGMENT: u32 = 256 * 1024;

/// Where MPI's traffic between containers goes.
#[derive(Debug, Clone, Copy)]
pub enum DataPath<'a> {
    /// The cluster's overlay network.
    Overlay(&'a Subnet),
    /// The servers' own network (`deploy --network host`): their swarm
    /// addresses, the cluster's block of ports.
    Host(PortBlock),
}

/// Open MPI's per-user defaults. Without the interface pinning, mpirun across
/// servers hangs: it tries the docker_gwbridge address, which other servers
/// cannot reach (on the servers' own network, any other address a server
/// has). The deployed hostfile becomes mpirun's default. Ranks in one
/// container must not use vader's CMA single copy: Docker's default seccomp
/// profile denies `process_vm_readv`, and every large message then fails
/// with "Read -1, expected ..., errno = 1".
pub fn mca_params(path: DataPath<'_>) -> String {
    let mut text = String::from("# written by swarmpi deploy\n");
    match path {
        DataPath::Overlay(subnet) => text.push_str(&format!(
            "btl_tcp_if_include = {subnet}\noob_tcp_if_include = {subnet}\n"
        )),
        // Each container's interface is added where it is installed
        // ([`install_files`]): Open MPI reads a CIDR list entry that no
        // local interface holds as a warning, and a /32 as "any".
        DataPath::Host(block) => {
            let (btl_min, btl_count) = block.btl();
            text.push_str(&format!(
                "oob_tcp_dynamic_ipv4_ports = {}\noob_tcp_disable_ipv6_family = 1\n\
                 btl_tcp_port_min_v4 = {btl_min}\nbtl_tcp_port_range_v4 = {btl_count}\nbtl_tcp_disable_family = 6\n",
                block.by_hand()
            ));
        }
    }
    // Without a single copy, vader copies large messages through shared
    // memory in fragments of this size: 256 KiB against the default 32 KiB
    // took a 4 MiB ping-pong in one container from 8 to 26 GB/s on the lab
    // (512 KiB made small messages 50x slower): docs/performance.md.
    text.push_str(&format!(
        "orte_default_hostfile = {HOSTFILE}\nbtl_vader_single_copy_mechanism = none\n\
         btl_vader_max_send_size = {VADER_FRAGMENT}\n"
    ));
    text
}

/// Total slots of the cluster.
pub fn total_slots(members: &[Member]) -> u32 {
    members.iter().map(|m| m.slots).sum()
}

/// The gateway's `authorized_keys` line for the manager's own key: no
/// shell or command (a forced `false`), no pty, no agent, and forwarding
/// only to each member's sshd.
pub fn gateway_authorized_key(public: &str, members: &[Member]) -> String {
    let mut options = vec!["restrict".to_string(), "command=\"false\"".to_string()];
    if !members.is_empty() {
        options.push("port-forwarding".to_string());
        options.extend(
            members
                .iter()
                .map(|m| format!("permitopen=\"{}:{}\"", m.ip, m.port)),
        );
    }
    format!("{} {}\n", options.join(","), public.trim())
}

/// The key types `deploy --key-type` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    Rsa,
    Ed25519,
}

impl KeyType {
    /// The file name OpenSSH looks for by default.
    pub fn file_name(self) -> &'static str {
        match self {
            KeyType::Rsa => "id_rsa",
            KeyType::Ed25519 => "id_ed25519",
        }
    }
}

/// The cluster key pair as the files a container gets.
pub struct KeyFiles<'a> {
    /// `id_rsa` or `id_ed25519`: the name OpenSSH looks for by default.
    pub file_name: &'a str,
    pub private: &'a str,
    pub public: &'a str,
}

/// Unpacks [`cluster_files`] into the MPI user's home, private to the user.
/// On the servers' network (`server` given), pins Open MPI to the
/// interface that holds the server's address.
pub fn install_files(server: Option<Ipv4Addr>) -> Remote {
    let [ssh, openmpi, swarmpi] = in_archive::DIRS;
    let unpack = Remote::script(
        "umask 077 && cd ~ && mkdir -p {} {} {} && tar -x --no-same-owner -f -",
        &[ssh, openmpi, swarmpi],
    );
    let Some(server) = server else {
        return unpack;
    };
    let pin = Remote::script(
        "dev=$(ip -o -4 addr show to {} | awk '{print $2; exit}') && [ -n \"$dev\" ] && \
         printf 'btl_tcp_if_include = %s\\noob_tcp_if_include = %s\\n' \"$dev\" \"$dev\" >> {}",
        &[&server.to_string(), in_archive::MCA_PARAMS],
    );
    unpack.and(pin)
}

/// The archive every container gets, relative to the MPI user's home:
/// identical everywhere, built once. The private key is mode 0600.
pub fn cluster_files(members: &[Member], key: &KeyFiles<'_>, path: DataPath<'_>) -> std::io::Result<Vec<u8>> {
    let public = format!("{}\n", key.public.trim_end());
    let known_hosts = known_hosts(members);
    let config = ssh_config(members, key.file_name);
    let mca = mca_params(path);
    let hostfile = hostfile(members);
    let (private_path, public_path) = in_archive::identity(key.file_name);
    let job_ports = match path {
        DataPath::Host(block) => format!("{} {}\n", block.jobs().start(), block.jobs().end()),
        DataPath::Overlay(_) => String::new(),
    };
    let mut entries = vec![
        Entry::file(&private_path, key.private.as_bytes(), 0o600),
        Entry::file(&public_path, public.as_bytes(), 0o644),
        // Containers let each other in (mpirun) by the cluster key; the
        // manager comes in by its own key, which sshd reads from the secret.
        Entry::file(in_archive::AUTHORIZED_KEYS, public.as_bytes(), 0o600),
        Entry::file(in_archive::KNOWN_HOSTS, known_hosts.as_bytes(), 0o644),
        Entry::file(in_archive::SSH_CONFIG, config.as_bytes(), 0o644),
        Entry::file(in_archive::MCA_PARAMS, mca.as_bytes(), 0o644),
        Entry::file(in_archive::HOSTFILE, hostfile.as_bytes(), 0o644),
    ];
    if let DataPath::Host(_) = path {
        entries.push(Entry::file(in_archive::JOB_PORTS, job_ports.as_bytes(), 0o644));
    }
    archive::pack(&entries)
}

/// A member for other modules' unit tests: `mpi-SLOT` on `server`.
#[cfg(test)]
pub(crate) fn test_member(slot: u32, server: &str, slots: u32) -> Member {
    Member {
        task_id: format!("t{slot}"),
        slot,
        hostname: format!("mpi-{slot}"),
        server: server.into(),
        ip: format!("10.0.1.{}", slot + 2).parse().expect("a test address"),
        port: OVERLAY_SSH_PORT,
        slots,
        host_key: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(slot: u32, ip: &str) -> Member {
        Member {
            task_id: format!("task{slot}"),
            slot,
            hostname: format!("mpi-{slot}"),
            server: "10.77.0.2".into(),
            ip: ip.parse().unwrap(),
            port: OVERLAY_SSH_PORT,
            slots: 2,
            host_key: format!("ssh-ed25519 KEY{slot}"),
        }
    }

    #[test]
    fn the_hostfile_keeps_each_servers_containers_together_head_first() {
        let mut members = vec![
            member(1, "10.0.1.3"),
            member(2, "10.0.1.4"),
            member(3, "10.0.1.5"),
            member(4, "10.0.1.6"),
        ];
        members[0].server = "10.77.0.3".into();
        members[2].server = "10.77.0.3".into();
        let order: Vec<u32> = launch_order(&members).iter().map(|m| m.slot).collect();
        assert_eq!(order, [1, 3, 2, 4], "mpi-1 and mpi-3 share the head's server");
        assert_eq!(
            hostfile(&members),
            "10.0.1.3 slots=2\n10.0.1.5 slots=2\n10.0.1.4 slots=2\n10.0.1.6 slots=2\n"
        );
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
        assert!(text.contains("Host *\n    Port 22\n"));
        assert!(text.contains("StrictHostKeyChecking yes"));
        assert!(!text.contains("StrictHostKeyChecking no"));
    }

    #[test]
    fn pins_both_transports_to_the_overlay() {
        let subnet = Subnet::parse("10.0.1.0/24").unwrap();
        let text = mca_params(DataPath::Overlay(&subnet));
        assert!(text.contains("btl_tcp_if_include = 10.0.1.0/24"));
        assert!(text.contains("oob_tcp_if_include = 10.0.1.0/24"));
        assert!(text.contains("orte_default_hostfile = /home/mpi/.swarmpi/hostfile"));
        assert!(text.contains("btl_vader_max_send_size = 262144\n"));
        assert!(text.contains("btl_vader_single_copy_mechanism = none"));
    }

    fn on_host_network(slot: u32, server: &str) -> Member {
        let mut m = member(slot, server);
        m.server = server.into();
        m.port = 20000;
        m
    }

    #[test]
    fn on_the_servers_network_files_name_the_clusters_port() {
        let members = [on_host_network(1, "10.77.0.2"), on_host_network(2, "10.77.0.3")];
        assert_eq!(
            known_hosts(&members),
            "[mpi-1]:20000,[10.77.0.2]:20000 ssh-ed25519 KEY1\n[mpi-2]:20000,[10.77.0.3]:20000 ssh-ed25519 KEY2\n"
        );
        assert!(ssh_config(&members, "id_rsa").contains("Host *\n    Port 20000\n"));
        assert!(
            gateway_authorized_key("ssh-ed25519 GW", &members).contains("permitopen=\"10.77.0.3:20000\"")
        );
    }

    #[test]
    fn on_the_servers_network_mpi_is_pinned_to_their_addresses_and_the_clusters_ports() {
        let text = mca_params(DataPath::Host(PortBlock::new(20000).unwrap()));
        assert!(!text.contains("if_include"), "pinned per container: {text}");
        assert!(text.contains("oob_tcp_dynamic_ipv4_ports = 20031\n"), "{text}");
        let install = install_files(Some("10.77.0.3".parse().unwrap()));
        assert!(
            install.as_str().contains("ip -o -4 addr show to 10.77.0.3 "),
            "{}",
            install.as_str()
        );
        assert!(
            install.as_str().ends_with(">> .openmpi/mca-params.conf"),
            "{}",
            install.as_str()
        );
        assert!(!install_files(None).as_str().contains("if_include"));
        assert!(text.contains("btl_tcp_port_min_v4 = 20032\nbtl_tcp_port_range_v4 = 480\n"));
        assert!(text.contains("btl_vader_single_copy_mechanism = none"));
    }

    #[test]
    fn the_gateway_forwards_only_to_each_members_sshd() {
        let line = gateway_authorized_key("ssh-ed25519 GW", &[member(1, "10.0.1.3"), member(2, "10.0.1.4")]);
        assert_eq!(
            line,
            "restrict,command=\"false\",port-forwarding,permitopen=\"10.0.1.3:22\",permitopen=\"10.0.1.4:22\" ssh-ed25519 GW\n"
        );
        assert_eq!(
            gateway_authorized_key("ssh-ed25519 GW", &[]),
            "restrict,command=\"false\" ssh-ed25519 GW\n"
        );
    }

    #[test]
    fn cluster_files_keep_the_private_key_private() {
        let key = KeyFiles {
            file_name: "id_ed25519",
            private: "PRIVATE",
            public: "ssh-ed25519 PUB",
        };
        let subnet = Subnet::parse("10.0.1.0/24").unwrap();
        let bytes = cluster_files(&[member(1, "10.0.1.3")], &key, DataPath::Overlay(&subnet)).unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let modes: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(modes[0], (".ssh/id_ed25519".to_string(), 0o600));
        assert_eq!(modes[1], (".ssh/id_ed25519.pub".to_string(), 0o644));
        assert_eq!(modes[2], (".ssh/authorized_keys".to_string(), 0o600));
        let paths: Vec<&str> = modes.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths[3..],
            [
                ".ssh/known_hosts",
                ".ssh/config",
                ".openmpi/mca-params.conf",
                ".swarmpi/hostfile"
            ]
        );
    }
}
