//! What `swarmpi bench` measures and how it judges it: one pair of
//! containers per class (same container, siblings on one server, and every
//! pair of servers), what the ping-pong printed, and a verdict that names
//! the cause when a pair is far off.

use serde::Serialize;

use super::members::Member;
use super::placement::{self, MachineLoad};
use super::servers::Server;

/// At most this many server pairs are measured (28 = every pair of 8 servers).
pub const MAX_SERVER_PAIRS: usize = 28;
/// A round trip this slow is a scheduler tick, not a network.
const TICK_US: f64 = 2000.0;
/// Latency above this between containers (microseconds) is a slow path.
const SLOW_US: f64 = 500.0;
/// Cross-server bandwidth below this share of the siblings' is a slow link.
const SLOW_SHARE: f64 = 0.1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Two ranks in one container: shared memory.
    SameContainer,
    /// Two containers on one server: TCP through the overlay's bridge.
    Siblings,
    /// Containers on two servers: TCP over VXLAN between servers.
    CrossServer,
}

/// Two ranks to measure: members `a` and `b` (equal for same-container).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub class: Class,
    pub a: usize,
    pub b: usize,
}

/// One pair per class: the head with itself, the first server holding two
/// containers, then the first container of every pair of servers (at most
/// [`MAX_SERVER_PAIRS`]).
pub fn pairs(members: &[Member]) -> Vec<Pair> {
    let mut pairs = Vec::new();
    if members.is_empty() {
        return pairs;
    }
    pairs.push(Pair {
        class: Class::SameContainer,
        a: 0,
        b: 0,
    });
    let mut firsts: Vec<usize> = Vec::new();
    let mut sibling = None;
    for (i, m) in members.iter().enumerate() {
        match firsts.iter().find(|&&f| members[f].server == m.server) {
            Some(&first) => sibling = sibling.or(Some((first, i))),
            None => firsts.push(i),
        }
    }
    if let Some((a, b)) = sibling {
        pairs.push(Pair {
            class: Class::Siblings,
            a,
            b,
        });
    }
    let cross = firsts.iter().enumerate().flat_map(|(i, &a)| {
        firsts[i + 1..].iter().map(move |&b| Pair {
            class: Class::CrossServer,
            a,
            b,
        })
    });
    pairs.extend(cross.take(MAX_SERVER_PAIRS));
    pairs
}

/// Whether the pair's two ranks would yield by `run`'s default rule.
pub fn pair_yields(members: &[Member], servers: &[Server], pair: &Pair) -> bool {
    let mut a = members[pair.a].clone();
    let two = if pair.a == pair.b {
        a.slots = 2;
        vec![a]
    } else {
        a.slots = 1;
        let mut b = members[pair.b].clone();
        b.slots = 1;
        vec![a, b]
    };
    let loads: Vec<MachineLoad> = placement::machine_loads(&two, servers, 2);
    placement::needs_yield(&two, &loads, 2)
}

/// What one ping-pong run gave.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Measured {
    pub latency_us: Option<f64>,
    pub bandwidth_mbs: Option<f64>,
    /// The run did not finish within its bound.
    pub timed_out: bool,
}

/// Reads `latency_us X` and `bandwidth_mbs Y` from the ping-pong's output.
pub fn parse(stdout: &str, timed_out: bool) -> Measured {
    let value = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse::<f64>().ok())
    };
    Measured {
        latency_us: value("latency_us "),
        bandwidth_mbs: value("bandwidth_mbs "),
        timed_out,
    }
}

/// A pair's verdict: "ok", or the likely cause and what to do.
pub fn verdict(class: Class, measured: &Measured, siblings_mbs: Option<f64>) -> (bool, String) {
    let Some(latency) = measured.latency_us else {
        let why = if measured.timed_out {
            "no answer in time"
        } else {
            "the ping-pong failed"
        };
        return (
            false,
            format!(
                "{why}: a blocked port or an unreachable container (between servers the overlay needs 4789/udp and 7946/tcp+udp)"
            ),
        );
    };
    let Some(bandwidth) = measured.bandwidth_mbs else {
        return (false, "small messages pass but large ones never arrive: an MTU black hole (the overlay's MTU is larger than the path between servers carries; deploy with a smaller --mtu)".into());
    };
    if latency >= TICK_US {
        return (
            false,
            format!(
                "{latency:.0} us is a scheduler tick: busy-polling ranks starve the kernel (run with --mca {} 1)",
                placement::YIELD_PARAM
            ),
        );
    }
    if class != Class::SameContainer && latency >= SLOW_US {
        return (
            false,
            format!("{latency:.0} us between containers: a slow or congested path"),
        );
    }
    if class == Class::CrossServer && siblings_mbs.is_some_and(|s| bandwidth < s * SLOW_SHARE) {
        return (
            false,
            format!("{bandwidth:.0} MB/s is far below the siblings': a slow link between servers"),
        );
    }
    (true, "ok".into())
}

/// A pair below this share of its wire's bandwidth is far off it.
const FAR_BELOW_WIRE: f64 = 0.33;
/// Below this share of the wire's bandwidth (or above its inverse in
/// latency), the verdict names the cost.
const NEAR_WIRE: f64 = 0.8;

/// A cross-server pair against the wire between the same two servers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgainstWire {
    pub wire: Measured,
    /// The pair's latency over the wire's (1.0 = as fast as the wire).
    pub latency_ratio: Option<f64>,
    /// The pair's bandwidth over the wire's (1.0 = all of it).
    pub bandwidth_ratio: Option<f64>,
}

impl AgainstWire {
    pub fn new(pair: &Measured, wire: Measured) -> AgainstWire {
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        AgainstWire {
            latency_ratio: ratio(pair.latency_us, wire.latency_us),
            bandwidth_ratio: ratio(pair.bandwidth_mbs, wire.bandwidth_mbs),
            wire,
        }
    }
}

/// A cross-server pair's verdict against its wire, when the pair itself
/// is ok: far below it is off; below it, the verdict says by how much and
/// what the cost is.
pub fn wire_verdict(against: &AgainstWire, on_host_network: bool) -> (bool, String) {
    let Some(share) = against.bandwidth_ratio else {
        return (true, "ok (the wire was not measured)".into());
    };
    let latency = against.latency_ratio.unwrap_or(1.0);
    let cost = if on_host_network {
        "on the servers' own network this is the servers' own cost: check their load"
    } else {
        "the overlay's cost (VXLAN); `deploy --network host` runs MPI on the wire"
    };
    if share < FAR_BELOW_WIRE {
        return (
            false,
            format!("{share:.2}x the wire's bandwidth: far below it ({cost})"),
        );
    }
    if share < NEAR_WIRE || latency > 1.0 / NEAR_WIRE {
        return (
            true,
            format!("ok, {share:.2}x the wire's bandwidth, {latency:.2}x its latency: {cost}"),
        );
    }
    (true, format!("ok, at the wire ({share:.2}x its bandwidth)"))
}

/// VXLAN's header: the overlay carries 50 bytes less than its underlay.
pub const VXLAN_OVERHEAD: u32 = 50;

/// What to say about the overlay's MTU against the manager's underlay, if
/// anything: an overlay larger than the underlay carries (fragments or a
/// black hole), or jumbo frames the overlay does not use.
/// Whether the overlay's packets (with VXLAN's header) exceed what the
/// underlay carries.
pub fn mtu_too_big(underlay: Option<u32>, overlay: u32) -> bool {
    underlay.is_some_and(|u| overlay > u.saturating_sub(VXLAN_OVERHEAD))
}

pub fn mtu_note(underlay: Option<u32>, overlay: u32) -> Option<String> {
    let underlay = underlay?;
    let fits = underlay.saturating_sub(VXLAN_OVERHEAD);
    if overlay > fits {
        return Some(format!(
            "the overlay's MTU {overlay} is more than the manager's network carries ({underlay} - {VXLAN_OVERHEAD}): \
             large messages are fragmented or lost; containers need an MTU of at most {fits} \
             (`swarmpi doctor` names the --mtu that gives it)"
        ));
    }
    (fits >= overlay + 1000).then(|| {
        format!(
            "the manager's network carries {underlay}-byte frames but the overlay uses {overlay}: \
             if every server's does, an overlay MTU of {fits} means fewer, larger packets \
             (`swarmpi doctor --mtu M` checks one)"
        )
    })
}

#[cfg(test)]
#[path = "pairs_tests.rs"]
mod tests;
