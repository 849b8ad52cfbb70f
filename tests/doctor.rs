//! `swarmpi doctor` on the lab (servers a and b): healthy, with VXLAN's
//! port dropped between the two, and with an overlay MTU the underlay
//! cannot carry. Each run leaves no probe container or network behind.

use serde_json::Value;

use std::time::Duration;

use crate::harness::{Dropped, Lab, Run, wait_for};

fn doctor(lab: &Lab, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["doctor", "--json"];
    args.extend_from_slice(extra);
    let run = lab.swarmpi("a", &args);
    let report = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("doctor JSON: {e}\n{run}"));
    // Gone on the manager when doctor returns; the other server deletes its
    // stopped probe a moment later, by itself.
    let left = lab
        .docker("a", &["ps", "-a", "--format", "{{.Names}}"])
        .success()
        .stdout;
    assert!(
        !left.contains("swarmpi_doctor"),
        "a probe container is left on a: {left}"
    );
    wait_for("b's probe container to go", Duration::from_secs(10), || {
        let left = lab
            .docker("b", &["ps", "-a", "--format", "{{.Names}}"])
            .success()
            .stdout;
        (!left.contains("swarmpi_doctor")).then_some(())
    });
    let networks = lab
        .docker("a", &["network", "ls", "--format", "{{.Name}}"])
        .success()
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
        let _dropped = Dropped::vxlan();
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

/// Whether this kernel can hold an ESP state at all (a VM's kernel built
/// without the ESP and GCM modules cannot: "Requested AEAD algorithm not
/// found"), tried in a namespace of its own.
fn kernel_carries_esp() -> bool {
    let ip = |args: &[&str]| std::process::Command::new("ip").args(args).output().unwrap();
    ip(&["netns", "add", "swlab-esp-probe"]);
    let added = ip(&[
        "netns",
        "exec",
        "swlab-esp-probe",
        "ip",
        "xfrm",
        "state",
        "add",
        "src",
        "10.1.1.1",
        "dst",
        "10.1.1.2",
        "proto",
        "esp",
        "spi",
        "0x100",
        "mode",
        "transport",
        "aead",
        "rfc4106(gcm(aes))",
        "0x0102030405060708090a0b0c0d0e0f1011121314",
        "64",
    ]);
    ip(&["netns", "del", "swlab-esp-probe"]);
    added.status.success()
}

/// Doctor names the encrypted path and ESP; deploy says the same instead of
/// a bare "no SSH answer", and leaves nothing (a first deploy rolls back).
fn assert_esp_named(lab: &Lab) {
    let (run, report) = doctor(lab, &["--encrypted"]);
    assert_eq!(run.code, 9, "{run}");
    let bad = failed(&report);
    assert_eq!(bad.len(), 1, "{report:#}");
    assert_eq!(bad[0]["check"], "encrypted data path");
    assert!(bad[0]["fix"].as_str().unwrap().contains("ESP (IP protocol 50)"));
    let deploy = ["deploy", "--name", "esp", "--per-host", "1", "--encrypted"];
    let refused = lab
        .swarmpi("a", &deploy)
        .failure(7, "does not answer across the encrypted network");
    assert!(refused.stderr.contains("swarmpi doctor --encrypted"), "{refused}");
    let left = lab
        .docker("a", &["service", "ls", "--format", "{{.Name}}"])
        .stdout;
    assert!(!left.contains("swarmpi-esp"), "{left}");
}

#[test]
fn an_encrypted_network_is_probed_and_blocked_esp_is_named_by_doctor_and_deploy() {
    let lab = Lab::get();
    lab.ensure_swarm();
    if !kernel_carries_esp() {
        // IPsec cannot work here at all: what a user of such a kernel sees.
        assert_esp_named(&lab);
        return;
    }
    let (run, report) = doctor(&lab, &["--encrypted"]);
    assert_eq!(run.code, 0, "a healthy lab passes encrypted: {run}");
    assert!(report.to_string().contains("encrypted data path"), "{report:#}");
    let _esp = Dropped::esp();
    assert_esp_named(&lab);
}

#[test]
fn doctor_checks_a_host_network_block_between_servers_and_names_a_closed_port() {
    let lab = Lab::get();
    lab.ensure_swarm();
    let (run, report) = doctor(&lab, &["--port", "24000"]);
    assert_eq!(run.code, 0, "{run}");
    let ports: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == "--port ports 24000-24511")
        .collect();
    assert_eq!(ports.len(), 1, "one pair of servers: {report:#}");
    assert_eq!(ports[0]["ok"], true, "{report:#}");
    let (run, report) = {
        let _closed = Dropped::tcp(24511);
        doctor(&lab, &["--port", "24000"])
    };
    assert_eq!(run.code, 9, "{run}");
    let bad = failed(&report);
    assert_eq!(bad.len(), 1, "{report:#}");
    assert_eq!(
        bad[0]["detail"], "closed in at least one direction: 24511/tcp",
        "{report:#}"
    );
    let fix = bad[0]["fix"].as_str().unwrap();
    assert!(fix.contains("deploy/firewall.sh --host-ports 24000"), "{fix}");
}
