//! `swarmpi bench` on the lab's cluster (2 servers x 2 containers). Checks
//! behaviour only: every class of pair is measured and reported with numbers
//! and the yield choice `run` would make. No timing is asserted.

use serde_json::Value;

use crate::harness::{Lab, Run};

/// A cross-server pair carries the wire between its servers, positive,
/// and the ratios of the pair to it.
pub fn assert_against_wire(pair: &Value, run: &Run) {
    let wire = &pair["wire"];
    let figure = |v: &Value, key: &str| {
        v[key]
            .as_f64()
            .filter(|x| *x > 0.0)
            .unwrap_or_else(|| panic!("{key} missing or not positive in {v}\n{run}"))
    };
    let (latency, bandwidth) = (figure(pair, "latency_us"), figure(pair, "bandwidth_mbs"));
    let (wire_latency, wire_bandwidth) = (figure(wire, "latency_us"), figure(wire, "bandwidth_mbs"));
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.max(1.0);
    assert!(
        close(figure(pair, "latency_ratio"), latency / wire_latency),
        "{pair}"
    );
    assert!(
        close(figure(pair, "bandwidth_ratio"), bandwidth / wire_bandwidth),
        "{pair}"
    );
    assert!(
        pair["verdict"].as_str().is_some_and(|v| v.contains("wire")),
        "{pair}"
    );
}

#[test]
fn bench_reports_every_pair_class_with_numbers() {
    let lab = Lab::get();
    lab.ensure_swarm();
    lab.swarmpi("a", &["deploy", "--per-host", "2"]).success();
    // A healthy lab: every pair within what its network allows.
    let run = lab.swarmpi("a", &["bench", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("bench JSON: {e}\n{run}"));
    let pairs = report["pairs"].as_array().expect("pairs");
    let classes: Vec<&str> = pairs.iter().map(|p| p["class"].as_str().unwrap()).collect();
    assert_eq!(classes, ["same-container", "siblings", "cross-server"], "{run}");
    for pair in pairs {
        for field in ["latency_us", "bandwidth_mbs"] {
            let value = pair[field]
                .as_f64()
                .unwrap_or_else(|| panic!("{field} missing: {pair}"));
            assert!(value > 0.0, "{pair}");
        }
        assert!(pair["verdict"].as_str().is_some_and(|v| !v.is_empty()), "{pair}");
    }
    // Shared memory needs no kernel; containers on the lab's one 2-CPU machine do.
    let yielded: Vec<bool> = pairs.iter().map(|p| p["yielded"].as_bool().unwrap()).collect();
    assert_eq!(yielded, [false, true, true], "{run}");
    assert_eq!(pairs[2]["servers"].as_array().unwrap().len(), 2, "{run}");
    assert_against_wire(&pairs[2], &run);
    for pair in &pairs[..2] {
        assert!(
            pair.get("wire").is_none(),
            "only pairs of servers have a wire: {pair}"
        );
    }
    assert_eq!(report["network"], "overlay", "{run}");
    assert_eq!(report["ok"], true, "{run}");
    // The overlay's MTU against the manager's 1500-byte network: it fits.
    assert_eq!(report["overlay_mtu"], 1450, "{run}");
    assert!(report["mtu_note"].is_null(), "{run}");

    // An overlay MTU the 1500-byte underlay cannot carry: large messages
    // are fragmented (or lost where fragments are dropped). Named, exit 8.
    let deploy = ["deploy", "--name", "mtu", "--per-host", "1", "--mtu", "1600"];
    lab.swarmpi("a", &deploy).success();
    let broken = lab.swarmpi("a", &["bench", "--name", "mtu", "--json"]);
    lab.swarmpi("a", &["down", "--name", "mtu"]).success();
    assert_eq!(broken.code, 8, "{broken}");
    let report: Value = serde_json::from_str(&broken.stdout).unwrap();
    assert_eq!(report["overlay_mtu"], 1550, "{broken}");
    let note = report["mtu_note"].as_str().unwrap_or_default();
    assert!(note.contains("an MTU of at most 1450"), "{broken}");
    assert_eq!(report["ok"], false, "{broken}");
}
