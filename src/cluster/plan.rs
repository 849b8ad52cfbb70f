//! The shape of a cluster: how many containers on which servers, with how
//! many slots, checked before anything is created.

use std::net::Ipv4Addr;

use crate::error::{ExitCode, UserError};

/// More containers than this on one server is a typo, not a plan.
pub const MAX_PER_HOST: u32 = 64;
pub const MAX_SLOTS: u32 = 1024;

/// An IPv4 network in CIDR form, e.g. 10.42.0.0/24.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    pub fn parse(text: &str) -> Result<Subnet, UserError> {
        let bad = |why: &str| {
            UserError::usage(format!("invalid subnet '{text}': {why}"))
                .hint("give an IPv4 network in CIDR form, e.g. --subnet 10.42.0.0/24")
        };
        let (addr, prefix) = text.split_once('/').ok_or_else(|| bad("no /PREFIX"))?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad("not an IPv4 address"))?;
        let prefix: u8 = prefix.parse().map_err(|_| bad("the prefix is not a number"))?;
        if !(8..=28).contains(&prefix) {
            return Err(bad("the prefix must be 8 to 28 (room for the containers)"));
        }
        let subnet = Subnet { addr, prefix };
        if subnet.network() != addr {
            return Err(bad(&format!(
                "host bits are set (did you mean {}/{prefix}?)",
                subnet.network()
            )));
        }
        Ok(subnet)
    }

    fn mask(&self) -> u32 {
        u32::MAX << (32 - u32::from(self.prefix))
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }

    /// Whether the two networks share an address.
    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.contains(other.network()) || other.contains(self.network())
    }

    /// Usable addresses (less network, broadcast and the gateway Docker takes).
    pub fn capacity(&self) -> u32 {
        (1u32 << (32 - u32::from(self.prefix))).saturating_sub(3)
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

pub fn check_per_host(per_host: u32) -> Result<(), UserError> {
    if per_host == 0 || per_host > MAX_PER_HOST {
        return Err(
            UserError::usage(format!("--per-host must be 1 to {MAX_PER_HOST}, got {per_host}"))
                .hint("give the number of MPI containers to run on each server, e.g. --per-host 2"),
        );
    }
    Ok(())
}

pub fn check_slots(slots: Option<u32>) -> Result<(), UserError> {
    match slots {
        Some(s) if s == 0 || s > MAX_SLOTS => Err(UserError::usage(format!(
            "--slots must be 1 to {MAX_SLOTS}, got {s}"
        ))
        .hint("slots are the MPI ranks each container takes; leave --slots out for CPUs / per-host")),
        _ => Ok(()),
    }
}

pub fn check_mtu(mtu: Option<u32>) -> Result<(), UserError> {
    match mtu {
        Some(m) if !(576..=9000).contains(&m) => {
            Err(UserError::usage(format!("--mtu must be 576 to 9000, got {m}"))
                .hint("the overlay adds 50 bytes of VXLAN header: use the servers' MTU minus 50"))
        }
        _ => Ok(()),
    }
}

/// Slots per container on a server: explicit, or its CPUs shared among the
/// containers there, at least 1.
pub fn slots_for(cpus: u32, per_host: u32, explicit: Option<u32>) -> u32 {
    explicit.unwrap_or_else(|| (cpus / per_host.max(1)).max(1))
}

/// How many containers the service runs: N on each usable server.
pub fn replicas(usable_servers: usize, per_host: u32) -> Result<u32, UserError> {
    if usable_servers == 0 {
        return Err(UserError::new(
            ExitCode::ClusterNotReady,
            "the swarm has no Ready, Active server to place containers on",
        )
        .hint("check `docker node ls` on the manager: servers must be Ready and their availability Active"));
    }
    Ok(u32::try_from(usable_servers)
        .unwrap_or(u32::MAX)
        .saturating_mul(per_host))
}

/// Addresses a cluster takes from its subnet: its containers, the gateway,
/// the service's virtual IP, and one load-balancer address per server.
pub fn addresses_needed(replicas: u32, servers: u32) -> u32 {
    replicas + 1 + 1 + servers
}

pub fn check_fits(subnet: Option<Subnet>, replicas: u32, servers: u32) -> Result<(), UserError> {
    let needed = addresses_needed(replicas, servers);
    if let Some(subnet) = subnet
        && needed > subnet.capacity()
    {
        return Err(UserError::usage(format!(
            "{replicas} containers on {servers} server(s) need {needed} addresses (with the gateway, the \
             service's virtual IP and one per server); {subnet} has {}",
            subnet.capacity()
        ))
        .hint("give a larger --subnet"));
    }
    Ok(())
}

/// Refuses a subnet that overlaps a server's own address or a network the
/// manager already has (docker_gwbridge, another cluster's, ...): packets
/// would go the wrong way.
pub fn check_overlap(
    subnet: Subnet,
    taken: &[(String, Subnet)],
    servers: &[Ipv4Addr],
) -> Result<(), UserError> {
    let refuse = |what: String| {
        UserError::usage(format!("--subnet {subnet} overlaps {what}"))
            .hint("pick a subnet no server or Docker network uses (see `docker network inspect`), or leave --subnet out")
    };
    if let Some(server) = servers.iter().find(|s| subnet.contains(**s)) {
        return Err(refuse(format!("the address of server {server}")));
    }
    if let Some((name, other)) = taken.iter().find(|(_, other)| subnet.overlaps(other)) {
        return Err(refuse(format!("network {name} ({other})")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_subnets_and_rejects_host_bits() {
        let subnet = Subnet::parse("10.42.0.0/24").unwrap();
        assert!(subnet.contains("10.42.0.7".parse().unwrap()));
        assert!(!subnet.contains("10.42.1.7".parse().unwrap()));
        assert_eq!(subnet.capacity(), 253);
        assert!(
            Subnet::parse("10.42.0.1/24")
                .unwrap_err()
                .message
                .contains("10.42.0.0/24")
        );
        assert!(Subnet::parse("10.42.0.0").is_err());
        assert!(Subnet::parse("10.42.0.0/30").is_err());
        assert!(Subnet::parse("fd00::/64").is_err());
    }

    #[test]
    fn slots_default_to_cpus_shared_by_containers() {
        assert_eq!(slots_for(8, 2, None), 4);
        assert_eq!(slots_for(2, 4, None), 1);
        assert_eq!(slots_for(2, 4, Some(3)), 3);
    }

    #[test]
    fn checks_counts() {
        assert!(check_per_host(0).is_err());
        assert!(check_per_host(65).is_err());
        assert!(check_per_host(2).is_ok());
        assert!(check_slots(Some(0)).is_err());
        assert!(check_mtu(Some(100)).is_err());
        assert_eq!(replicas(2, 3).unwrap(), 6);
        assert_eq!(replicas(0, 3).unwrap_err().code, ExitCode::ClusterNotReady);
        // A /28 holds 13: 10 containers on 1 server (+ gateway, VIP, 1 LB).
        let small = Some(Subnet::parse("10.1.0.0/28").unwrap());
        assert!(check_fits(small, 10, 1).is_ok());
        let error = check_fits(small, 10, 2).unwrap_err();
        assert!(
            error
                .message
                .starts_with("10 containers on 2 server(s) need 14 addresses"),
            "{}",
            error.message
        );
    }

    #[test]
    fn refuses_subnets_that_overlap_servers_or_other_networks() {
        let subnet = Subnet::parse("10.77.0.0/16").unwrap();
        let servers: [Ipv4Addr; 1] = ["10.77.0.3".parse().unwrap()];
        let error = check_overlap(subnet, &[], &servers).unwrap_err();
        assert_eq!(
            error.message,
            "--subnet 10.77.0.0/16 overlaps the address of server 10.77.0.3"
        );
        let gwbridge = [(
            "docker_gwbridge".to_string(),
            Subnet::parse("172.18.0.0/16").unwrap(),
        )];
        let inside = Subnet::parse("172.18.4.0/24").unwrap();
        let error = check_overlap(inside, &gwbridge, &[]).unwrap_err();
        assert_eq!(
            error.message,
            "--subnet 172.18.4.0/24 overlaps network docker_gwbridge (172.18.0.0/16)"
        );
        assert!(check_overlap(Subnet::parse("10.42.0.0/24").unwrap(), &gwbridge, &servers).is_ok());
        assert!(
            Subnet::parse("10.0.0.0/8")
                .unwrap()
                .overlaps(&Subnet::parse("10.42.0.0/24").unwrap())
        );
    }
}
