//! `swarmpi doctor` on the lab (servers a and b): healthy, with VXLAN's
//! port dropped between the two, and with an overlay MTU the underlay
//! cannot carry. Each run leaves no probe container or network behind.

use serde_json::Value;

use std::time::Duration;

use crate::harness::{Lab, Run, wait_for};

/// Drops 4789/udp arriving at server b while it lives.
struct VxlanDropped;

const DROP: [&str; 10] = [
    "netns", "exec", "swlab-b", "iptables", "-I", "INPUT", "-p", "udp", "--dport", "4789",
];

impl VxlanDropped {
    fn new() -> VxlanDropped {
        let status = std::process::Command::new("ip")
            .args(DROP)
            .args(["-j", "DROP"])
            .status()
            .unwrap();
        assert!(status.success(), "could not add the iptables rule in server b");
        VxlanDropped
    }
}

impl Drop for VxlanDropped {
    fn drop(&mut self) {
        let mut args = DROP;
        args[4] = "-D";
        let _ = std::process::Command::new("ip")
            .args(args)
            .args(["-j", "DROP"])
            .status();
    }
}

fn doctor(lab: &Lab, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["doctor", "--json"];
    args.extend_from_slice(extra);
    let run = lab.swarmpi("a", &args);
    let report = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("doctor JSON: {e}\n{run}"));
    // Gone on the manager when doctor returns; the other server deletes its
    // stopped probe a moment later, by itself.
    let left = lab.docker("a", &["ps", "-a", "--format", "{{.Names}}"]).stdout;
    assert!(
        !left.contains("swarmpi_doctor"),
        "a probe container is left on a: {left}"
    );
    wait_for("b's probe container to go", Duration::from_secs(10), || {
        let left = lab.docker("b", &["ps", "-a", "--format", "{{.Names}}"]).stdout;
        (!left.contains("swarmpi_doctor")).then_some(())
    });
    let networks = lab
        .docker("a", &["network", "ls", "--format", "{{.Name}}"])
        .stdout;
    assert!(
        !networks.contains("swarmpi_doctor"),
        "the probe network is left: {networks}"
    );
    (run, report)
}

fn failed(report: &Value) -> Vec<&Value> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect()
}

#[test]
fn doctor_passes_a_healthy_lab_and_names_a_blocked_port_and_a_bad_mtu() {
    let lab = Lab::get();
    lab.ensure_swarm();
    let (run, report) = doctor(&lab, &[]);
    assert_eq!(run.code, 0, "{run}");
    assert!(failed(&report).is_empty(), "{report:#}");
    let checks: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    for check in [
        "docker engine",
        "node image",
        "overlay data path",
        "gossip 7946/tcp",
        "largest packet",
        "clock offset",
    ] {
        assert!(checks.contains(&check), "{check} missing: {report:#}");
    }
    let pair = format!("{} <-> {}", lab.addr("a"), lab.addr("b"));
    {
        let _dropped = VxlanDropped::new();
        let (run, report) = doctor(&lab, &[]);
        assert_eq!(run.code, 9, "{run}");
        let bad = failed(&report);
        assert_eq!(bad.len(), 1, "{report:#}");
        assert_eq!(
            (bad[0]["subject"].as_str(), bad[0]["check"].as_str()),
            (Some(pair.as_str()), Some("overlay data path"))
        );
        assert!(bad[0]["fix"].as_str().unwrap().contains("4789/udp"), "{report:#}");
    }
    // An overlay MTU 100 bytes over what the lab's 1500-byte underlay carries.
    let (run, report) = doctor(&lab, &["--mtu", "1600"]);
    assert_eq!(run.code, 9, "{run}");
    let bad = failed(&report);
    assert_eq!(bad.len(), 1, "{report:#}");
    assert_eq!(bad[0]["check"], "largest packet", "{report:#}");
    assert!(
        bad[0]["detail"].as_str().unwrap().contains("overlay MTU 1550"),
        "{report:#}"
    );
    assert!(
        bad[0]["fix"].as_str().unwrap().contains("--mtu 1500"),
        "{report:#}"
    );
}
