//! `swarmpi doctor`'s verdicts: from what each server's probe container
//! printed (read from its own log, so Docker attributes it) and what the
//! swarm says of its servers, one check per server and per pair, each
//! failure with its fix. No I/O.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ports::PortBlock;
use super::servers::Server;

/// Docker Engine versions older than this lack what swarmpi uses.
const MIN_ENGINE: (u32, u32) = (20, 10);
/// Clocks further apart than this confuse logs, timeouts and make.
const MAX_CLOCK_OFFSET_MS: i64 = 500;

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// "server 10.0.0.2" or "10.0.0.2 <-> 10.0.0.3".
    pub subject: String,
    pub check: String,
    pub ok: bool,
    pub detail: String,
    /// What to do, when not ok.
    pub fix: Option<String>,
}

/// What one server's probe reported, by peer overlay address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    pub own_ip: Option<String>,
    pub reach: BTreeMap<String, bool>,
    /// The largest packet (bytes, headers included) that crossed with
    /// "don't fragment"; 0 if none.
    pub largest: BTreeMap<String, u32>,
    /// The peer's clock minus this one's, in ms; None if not measured.
    pub clock_ms: BTreeMap<String, Option<i64>>,
    /// A TCP port on each server address (7946/tcp, a cluster's block),
    /// by (address, `PORT/tcp`): whether it took a connection.
    pub ports: BTreeMap<(String, String), bool>,
    pub done: bool,
}

impl Probe {
    /// Reads the probe's lines (`doctor <what> ...`), ignoring others.
    pub fn parse(log: &str) -> Probe {
        let mut probe = Probe::default();
        for line in log.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["doctor", "self", ip] => probe.own_ip = Some(ip.to_string()),
                ["doctor", "reach", peer, result] => {
                    probe.reach.insert(peer.to_string(), *result == "ok");
                }
                ["doctor", "mtu", peer, bytes] => {
                    probe.largest.insert(peer.to_string(), bytes.parse().unwrap_or(0));
                }
                ["doctor", "clock", peer, delta] => {
                    probe.clock_ms.insert(peer.to_string(), delta.parse().ok());
                }
                ["doctor", "port", addr, port, result] => {
                    probe
                        .ports
                        .insert((addr.to_string(), port.to_string()), *result == "ok");
                }
                ["doctor", "done"] => probe.done = true,
                _ => {}
            }
        }
        probe
    }
}

/// What one server's probe task came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// It ran and reported.
    Reported(Probe),
    /// Docker could not start it there (e.g. "No such image").
    Failed(String),
    /// It did not report in time.
    Silent,
}

/// The probes' network: the overlay MTU they saw, what `--mtu` adds to a
/// container's MTU (Docker 20.10 takes it as the VXLAN device's: 50 more),
/// and whether it was encrypted (IPsec between servers).
#[derive(Debug, Clone, Copy)]
pub struct ProbeNetwork {
    pub overlay: u32,
    pub option_offset: u32,
    pub encrypted: bool,
}

/// A block of ports of a cluster on the servers' own network, to check
/// between every pair of servers: `whose` names it ("cluster hm").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostBlock {
    pub whose: String,
    pub block: PortBlock,
}

impl HostBlock {
    /// The ports probed: its sshd, the first and the last of Open MPI's.
    pub fn probed(&self) -> [u16; 3] {
        let block = self.block;
        [block.ssh(), block.ssh() + 1, block.last()]
    }
}

/// Every check, servers first, then pairs.
pub fn checks(
    servers: &[Server],
    outcomes: &BTreeMap<String, ProbeOutcome>,
    mtu: ProbeNetwork,
    image_fix: &str,
    blocks: &[HostBlock],
) -> Vec<Check> {
    let mut all: Vec<Check> = servers.iter().map(engine_check).collect();
    for server in servers {
        all.push(image_check(server, outcomes.get(&server.addr), image_fix));
    }
    for (i, a) in servers.iter().enumerate() {
        for b in &servers[i + 1..] {
            all.extend(pair_checks(a, b, outcomes, mtu));
            all.extend(
                blocks
                    .iter()
                    .filter_map(|block| block_check(a, b, outcomes, block)),
            );
        }
    }
    all
}

/// Whether a host-network cluster's ports take connections both ways
/// between a and b.
fn block_check(
    a: &Server,
    b: &Server,
    outcomes: &BTreeMap<String, ProbeOutcome>,
    block: &HostBlock,
) -> Option<Check> {
    let (Some(ProbeOutcome::Reported(pa)), Some(ProbeOutcome::Reported(pb))) =
        (outcomes.get(&a.addr), outcomes.get(&b.addr))
    else {
        return None;
    };
    let open = |from: &Probe, to: &Server, port: u16| {
        from.ports.get(&(to.addr.clone(), format!("{port}/tcp"))) == Some(&true)
    };
    let closed: Vec<String> = block
        .probed()
        .iter()
        .filter(|&&port| !open(pa, b, port) || !open(pb, a, port))
        .map(|port| format!("{port}/tcp"))
        .collect();
    let range = block.block.range();
    Some(check(
        format!("{} <-> {}", a.addr, b.addr),
        &format!("{} ports {range}", block.whose),
        closed.is_empty(),
        if closed.is_empty() {
            "sshd and Open MPI's ports open both ways".into()
        } else {
            format!("closed in at least one direction: {}", closed.join(", "))
        },
        Some(format!(
            "open {range}/tcp between these servers (deploy/firewall.sh --host-ports {} --from CIDR)",
            block.block.ssh()
        )),
    ))
}

fn check(subject: String, name: &str, ok: bool, detail: String, fix: Option<String>) -> Check {
    Check {
        subject,
        check: name.to_string(),
        ok,
        detail,
        fix: if ok { None } else { fix },
    }
}

fn engine_check(server: &Server) -> Check {
    let version = &server.engine_version;
    let ok = parse_version(version).is_some_and(|v| v >= MIN_ENGINE);
    check(
        format!("server {}", server.addr),
        "docker engine",
        ok,
        if version.is_empty() {
            "unknown".into()
        } else {
            version.clone()
        },
        Some(format!(
            "install Docker Engine {}.{} or later (deploy/install.sh)",
            MIN_ENGINE.0, MIN_ENGINE.1
        )),
    )
}

fn parse_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split(['.', '-', '+']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn image_check(server: &Server, outcome: Option<&ProbeOutcome>, image_fix: &str) -> Check {
    let subject = format!("server {}", server.addr);
    match outcome {
        Some(ProbeOutcome::Reported(_)) => check(
            subject,
            "node image",
            true,
            "present, same tag as the manager's".into(),
            None,
        ),
        Some(ProbeOutcome::Failed(error)) if error.contains("No such image") => check(
            subject,
            "node image",
            false,
            "missing".into(),
            Some(format!("on that server, run `{image_fix}`")),
        ),
        Some(ProbeOutcome::Failed(error)) => check(
            subject,
            "probe",
            false,
            error.clone(),
            Some("see `docker service ps` on the manager".into()),
        ),
        _ => check(
            subject,
            "probe",
            false,
            "its probe container never reported".into(),
            Some("check that the server is Ready and its Docker answers".into()),
        ),
    }
}

/// Overlay data path, largest packet, gossip port and clock between a and b.
fn pair_checks(
    a: &Server,
    b: &Server,
    outcomes: &BTreeMap<String, ProbeOutcome>,
    mtu: ProbeNetwork,
) -> Vec<Check> {
    let subject = format!("{} <-> {}", a.addr, b.addr);
    let (Some(ProbeOutcome::Reported(pa)), Some(ProbeOutcome::Reported(pb))) =
        (outcomes.get(&a.addr), outcomes.get(&b.addr))
    else {
        return vec![];
    };
    let (Some(ip_a), Some(ip_b)) = (pa.own_ip.as_deref(), pb.own_ip.as_deref()) else {
        return vec![];
    };
    let reach = pa.reach.get(ip_b) == Some(&true) && pb.reach.get(ip_a) == Some(&true);
    let (name, fix) = if mtu.encrypted {
        (
            "encrypted data path",
            "let ESP (IP protocol 50) and 4789/udp pass both ways between these servers \
             (deploy/firewall.sh --encrypted) and load the kernel's xfrm_user and esp4 modules",
        )
    } else {
        (
            "overlay data path",
            "open 4789/udp (VXLAN) both ways between these servers (deploy/firewall.sh)",
        )
    };
    let mut checks = vec![check(
        subject.clone(),
        name,
        reach,
        if reach {
            "containers reach each other".into()
        } else {
            "containers on these servers cannot reach each other".into()
        },
        Some(fix.into()),
    )];
    let gossip_open =
        |from: &Probe, to: &Server| from.ports.get(&(to.addr.clone(), "7946/tcp".into())) == Some(&true);
    let gossip = gossip_open(pa, b) && gossip_open(pb, a);
    checks.push(check(
        subject.clone(),
        "gossip 7946/tcp",
        gossip,
        if gossip {
            "open both ways".into()
        } else {
            "closed in at least one direction".into()
        },
        Some("open 7946/tcp and 7946/udp between these servers (deploy/firewall.sh)".into()),
    ));
    if reach {
        checks.extend(packet_and_clock(&subject, (pa, ip_a), (pb, ip_b), mtu));
    }
    checks
}

/// Between two probes that reach each other: the largest packet that
/// crosses both ways, and how far apart their clocks are.
fn packet_and_clock(
    subject: &str,
    (pa, ip_a): (&Probe, &str),
    (pb, ip_b): (&Probe, &str),
    mtu: ProbeNetwork,
) -> [Check; 2] {
    let subject = subject.to_string();
    let largest = pa
        .largest
        .get(ip_b)
        .copied()
        .unwrap_or(0)
        .min(pb.largest.get(ip_a).copied().unwrap_or(0));
    let packet = check(
        subject.clone(),
        "largest packet",
        largest >= mtu.overlay,
        format!("{largest} bytes cross unfragmented; overlay MTU {}", mtu.overlay),
        Some(format!(
            "packets over {largest} bytes are lost (large MPI messages hang): deploy with --mtu {} (containers then get {largest}), or raise the servers' MTU to {}",
            largest + mtu.option_offset,
            mtu.overlay + 50
        )),
    );
    let offset = pa.clock_ms.get(ip_b).copied().flatten();
    let clock = match offset {
        Some(ms) => check(
            subject,
            "clock offset",
            ms.abs() <= MAX_CLOCK_OFFSET_MS,
            format!("{ms} ms"),
            Some("synchronize the clocks (chrony or systemd-timesyncd on every server)".into()),
        ),
        None => check(subject, "clock offset", true, "not measured".into(), None),
    };
    [packet, clock]
}

#[cfg(test)]
#[path = "diagnosis_tests.rs"]
mod tests;
