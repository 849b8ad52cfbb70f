//! `swarmpi bench`: MPI latency and bandwidth on the deployed cluster for
//! each class of pair (same container, sibling containers, every pair of
//! servers), each pair of servers beside the wire between them, with a
//! verdict per pair that names the cause when one is far off. Exits 8 when
//! any pair is.

use anyhow::Result;
use serde_json::json;

use crate::bench::{self, PairResult};
use crate::cli::BenchArgs;
use crate::cluster::names::ClusterNames;
use crate::context::Context;
use crate::error::{ExitCode, Outcome};
use crate::heal::with_cluster;
use crate::printer::{Printer, Table};

pub struct BenchOptions {
    pub names: ClusterNames,
    pub mca: Vec<(String, String)>,
    pub wire: bool,
}

impl TryFrom<BenchArgs> for BenchOptions {
    type Error = anyhow::Error;

    fn try_from(args: BenchArgs) -> Result<Self> {
        Ok(BenchOptions {
            names: args.cluster.try_into()?,
            mca: args
                .mca
                .chunks(2)
                .map(|kv| (kv[0].clone(), kv[1].clone()))
                .collect(),
            wire: !args.no_wire,
        })
    }
}

pub async fn run(ctx: &Context, options: BenchOptions) -> Result<Outcome> {
    let (results, mtu, on_host) = with_cluster(ctx, &options.names, async |cluster| {
        let mut results = bench::measure(ctx, cluster, &options.mca).await?;
        let cross = results.iter().any(|r| r.class == bench::Class::CrossServer);
        if options.wire && cross {
            bench::against_wire(ctx, &options.names, cluster, &options.mca, &mut results).await?;
        }
        let on_host = cluster.host_ports.is_some();
        Ok((results, bench::mtu_check(cluster).await?, on_host))
    })
    .await?;
    // An overlay MTU the network cannot carry is off even where this
    // network's fragments happen to arrive.
    let ok = results.iter().all(|r| r.ok) && !mtu.too_big;
    if ctx.printer.json_mode() {
        ctx.printer.json(&json!({
            "cluster": options.names.cluster,
            "network": if on_host { "host" } else { "overlay" },
            "ok": ok,
            "overlay_mtu": mtu.overlay,
            "mtu_note": mtu.note,
            "pairs": results,
        }));
    } else {
        print_table(&ctx.printer, &results);
        if let Some(note) = mtu.note {
            ctx.printer.warn(note);
        }
    }
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::Reported(ExitCode::PerformanceOff)
    })
}

fn latency(us: Option<f64>) -> String {
    us.map_or("-".into(), |l| format!("{l:.1} us"))
}

fn bandwidth(mbs: Option<f64>) -> String {
    mbs.map_or("-".into(), |b| format!("{b:.0} MB/s"))
}

/// `16.1 us, 1124 MB/s` of the wire, or blank.
fn wire_cell(r: &PairResult) -> String {
    r.against_wire.as_ref().map_or(String::new(), |a| {
        format!(
            "{}, {}",
            latency(a.wire.latency_us),
            bandwidth(a.wire.bandwidth_mbs)
        )
    })
}

fn print_table(printer: &Printer, results: &[PairResult]) {
    let header = [
        "PAIR",
        "CLASS",
        "SERVERS",
        "LATENCY",
        "BANDWIDTH",
        "WIRE",
        "VERDICT",
    ];
    let mut table = Table::new(&header).align_right(&[3, 4]);
    for r in results {
        let class = serde_json::to_value(r.class).ok();
        let latency = latency(r.measured.latency_us);
        let bandwidth = bandwidth(r.measured.bandwidth_mbs);
        table.row([
            format!("{}/{}", r.a, r.b),
            class
                .as_ref()
                .and_then(|c| c.as_str())
                .unwrap_or_default()
                .to_string(),
            r.servers.join(" - "),
            latency,
            bandwidth,
            wire_cell(r),
            r.verdict.clone(),
        ]);
    }
    printer.table(&table);
}
