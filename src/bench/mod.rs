//! `swarmpi bench`'s measurements: compile the ping-pong in the cluster,
//! run it on one pair of containers per class (each run bounded), set each
//! cross-server pair against the wire between its servers (`wire`), and
//! judge each pair.

mod wire;

use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::access::OpenCluster;
use crate::cluster::names::ClusterNames;
pub use crate::cluster::pairs::Class;
use crate::cluster::pairs::{self, AgainstWire, Measured, Pair};
use crate::cluster::placement::YIELD_PARAM;
use crate::cluster::remote::Remote;
use crate::context::Context;
use crate::job::{self, LocalProgram};
use crate::net;

const PINGPONG: &str = include_str!("pingpong.c");
/// A pair that has not finished by then is judged on what it printed.
const PAIR_LIMIT: Duration = Duration::from_secs(20);

/// One measured pair, as `bench --json` prints it.
#[derive(Debug, Serialize)]
pub struct PairResult {
    pub class: Class,
    pub a: String,
    pub b: String,
    pub servers: Vec<String>,
    /// Whether idle ranks yielded (run's default for this placement, unless
    /// `--mca mpi_yield_when_idle` was given).
    pub yielded: bool,
    #[serde(flatten)]
    pub measured: Measured,
    /// A cross-server pair against the wire between its two servers.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub against_wire: Option<AgainstWire>,
    pub ok: bool,
    pub verdict: String,
}

/// The overlay's MTU as a container sees it, against the manager's network.
pub struct MtuCheck {
    pub overlay: Option<u32>,
    /// What to say about it, if anything.
    pub note: Option<String>,
    /// More than the manager's network carries: every large message is
    /// fragmented, or lost where fragments are dropped.
    pub too_big: bool,
}

/// The overlay's MTU (a container's eth0) against the manager's underlay.
pub async fn mtu_check(cluster: &OpenCluster) -> Result<MtuCheck> {
    if cluster.host_ports.is_some() {
        // No overlay: the servers' own network carries MPI as it is.
        return Ok(MtuCheck {
            overlay: None,
            note: None,
            too_big: false,
        });
    }
    let read = Remote::argv(["cat", "/sys/class/net/eth0/mtu"]);
    let output = cluster
        .head()
        .1
        .ask("reading the overlay's MTU", &read, &[])
        .await?;
    let overlay: Option<u32> = output.stdout_text().trim().parse().ok();
    let manager = cluster.servers.iter().find(|s| s.leader).map(|s| s.addr.clone());
    let underlay = manager.and_then(|addr| net::interface_mtu(&addr));
    Ok(MtuCheck {
        overlay,
        note: overlay.and_then(|o| pairs::mtu_note(underlay, o)),
        too_big: overlay.is_some_and(|o| pairs::mtu_too_big(underlay, o)),
    })
}

/// Measures every pair; `mca` is passed to each mpirun.
pub async fn measure(
    ctx: &Context,
    cluster: &OpenCluster,
    mca: &[(String, String)],
) -> Result<Vec<PairResult>> {
    let local = LocalProgram::shipped_source("swarmpi_pingpong.c", PINGPONG)?;
    let program = job::prepare(ctx, cluster, &local).await?;
    let pairs = pairs::pairs(&cluster.member_list());
    let bar = ctx.printer.bar(pairs.len() as u64, "pairs measured");
    let mut results: Vec<PairResult> = Vec::new();
    for pair in &pairs {
        let result = ctx
            .cancel
            .guard("measuring", measure_pair(cluster, pair, mca, &program));
        let (yielded, measured) = result.await?;
        let siblings = results
            .iter()
            .find(|r| r.class == Class::Siblings)
            .and_then(|r| r.measured.bandwidth_mbs);
        let (ok, verdict) = pairs::verdict(pair.class, &measured, siblings);
        let (a, b) = (&cluster.members[pair.a], &cluster.members[pair.b]);
        let mut servers = vec![a.server.clone()];
        if b.server != a.server {
            servers.push(b.server.clone());
        }
        results.push(PairResult {
            class: pair.class,
            a: a.hostname.clone(),
            b: b.hostname.clone(),
            servers,
            yielded,
            measured,
            against_wire: None,
            ok,
            verdict,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(results)
}

/// Measures the wire between the cluster's servers and sets every
/// cross-server pair against it; a pair already off keeps its verdict.
pub async fn against_wire(
    ctx: &Context,
    names: &ClusterNames,
    cluster: &OpenCluster,
    mca: &[(String, String)],
    results: &mut [PairResult],
) -> Result<()> {
    let figures = wire::measure(ctx, names, cluster, mca).await?;
    for result in results.iter_mut().filter(|r| r.class == Class::CrossServer) {
        let [a, b] = &result.servers[..] else { continue };
        let Some(wire) = figures.get(&wire::servers_key(a, b)) else {
            continue;
        };
        let against = AgainstWire::new(&result.measured, wire.clone());
        if result.ok {
            (result.ok, result.verdict) = pairs::wire_verdict(&against, cluster.host_ports.is_some());
        }
        result.against_wire = Some(against);
    }
    Ok(())
}

/// One bounded ping-pong run from the pair's first container.
async fn measure_pair(
    cluster: &OpenCluster,
    pair: &Pair,
    mca: &[(String, String)],
    program: &str,
) -> Result<(bool, Measured)> {
    let (a, b) = (&cluster.members[pair.a], &cluster.members[pair.b]);
    let hosts = if pair.a == pair.b {
        format!("{}:2", a.ip)
    } else {
        format!("{}:1,{}:1", a.ip, b.ip)
    };
    let chosen = mca.iter().find(|(k, _)| k == YIELD_PARAM).map(|(_, v)| v != "0");
    let yielded =
        chosen.unwrap_or_else(|| pairs::pair_yields(&cluster.member_list(), &cluster.servers, pair));
    let limit = PAIR_LIMIT.as_secs().to_string();
    let mut words = vec![
        "timeout", "-k", "5", &limit, "mpirun", "-n", "2", "--host", &hosts,
    ];
    let yield_value = u8::from(yielded).to_string();
    words.extend(["--oversubscribe", "--mca", YIELD_PARAM, &yield_value]);
    for (key, value) in mca.iter().filter(|(k, _)| k != YIELD_PARAM) {
        words.extend(["--mca", key, value]);
    }
    words.extend(["stdbuf", "-oL", program]);
    // sshd starts every command in the MPI user's home.
    let line = Remote::argv(words);
    let output = cluster.members[pair.a]
        .node
        .ask("measuring a pair", &line, &[])
        .await?;
    // timeout(1) exits 124 when the bound passed.
    Ok((yielded, pairs::parse(&output.stdout_text(), output.code == 124)))
}
