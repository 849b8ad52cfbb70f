use super::*;
use crate::cluster::servers::tests::server;

const LOG_A: &str = "swarmpi-entrypoint noise\ndoctor self 10.9.0.2\ndoctor reach 10.9.0.3 ok\n\
    doctor mtu 10.9.0.3 1450\ndoctor clock 10.9.0.3 12\ndoctor port 10.0.0.3 7946/tcp ok\n\
    doctor port 10.0.0.2 7946/tcp ok\ndoctor done\n";
const LOG_B: &str = "doctor self 10.9.0.3\ndoctor reach 10.9.0.2 ok\ndoctor mtu 10.9.0.2 1450\n\
    doctor clock 10.9.0.2 -12\ndoctor port 10.0.0.2 7946/tcp ok\ndoctor done\n";

const MTU: ProbeNetwork = ProbeNetwork {
    overlay: 1450,
    option_offset: 50,
    encrypted: false,
};

fn two_servers() -> Vec<Server> {
    vec![
        server("n1", "10.0.0.2", "ready"),
        server("n2", "10.0.0.3", "ready"),
    ]
}

fn outcomes(a: &str, b: &str) -> BTreeMap<String, ProbeOutcome> {
    [
        ("10.0.0.2".to_string(), ProbeOutcome::Reported(Probe::parse(a))),
        ("10.0.0.3".to_string(), ProbeOutcome::Reported(Probe::parse(b))),
    ]
    .into()
}

fn failed(checks: &[Check]) -> Vec<&Check> {
    checks.iter().filter(|c| !c.ok).collect()
}

#[test]
fn reads_the_probe_lines_and_nothing_else() {
    let probe = Probe::parse(LOG_A);
    assert_eq!(probe.own_ip.as_deref(), Some("10.9.0.2"));
    assert!(probe.reach["10.9.0.3"]);
    assert_eq!(probe.largest["10.9.0.3"], 1450);
    assert_eq!(probe.clock_ms["10.9.0.3"], Some(12));
    assert!(probe.done);
    assert_eq!(
        Probe::parse("doctor clock 10.9.0.3 fail").clock_ms["10.9.0.3"],
        None
    );
}

#[test]
fn a_healthy_pair_passes_every_check() {
    let checks = checks(&two_servers(), &outcomes(LOG_A, LOG_B), MTU, "swarmpi image", &[]);
    assert!(failed(&checks).is_empty(), "{checks:#?}");
    let names: Vec<&str> = checks.iter().map(|c| c.check.as_str()).collect();
    assert_eq!(
        names,
        [
            "docker engine",
            "docker engine",
            "node image",
            "node image",
            "overlay data path",
            "gossip 7946/tcp",
            "largest packet",
            "clock offset"
        ]
    );
}

#[test]
fn a_blocked_vxlan_port_names_the_pair_and_the_port() {
    let blocked = LOG_B.replace("reach 10.9.0.2 ok", "reach 10.9.0.2 fail");
    let checks = checks(
        &two_servers(),
        &outcomes(LOG_A, &blocked),
        MTU,
        "swarmpi image",
        &[],
    );
    let bad = failed(&checks);
    assert_eq!(bad.len(), 1, "{bad:#?}");
    assert_eq!(bad[0].subject, "10.0.0.2 <-> 10.0.0.3");
    assert!(bad[0].fix.as_deref().unwrap().contains("4789/udp"));
}

#[test]
fn a_silent_encrypted_pair_names_esp() {
    let blocked = LOG_B.replace("reach 10.9.0.2 ok", "reach 10.9.0.2 fail");
    let encrypted = ProbeNetwork {
        encrypted: true,
        ..MTU
    };
    let checks = checks(
        &two_servers(),
        &outcomes(LOG_A, &blocked),
        encrypted,
        "swarmpi image",
        &[],
    );
    let bad = failed(&checks);
    assert_eq!(bad.len(), 1, "{bad:#?}");
    assert_eq!(bad[0].check, "encrypted data path");
    assert!(bad[0].fix.as_deref().unwrap().contains("ESP (IP protocol 50)"));
}

#[test]
fn an_overlay_mtu_the_underlay_cannot_carry_is_named_with_the_mtu_that_works() {
    // Both probes found 1450 bytes the largest to cross; the overlay says 1500.
    let checks = checks(
        &two_servers(),
        &outcomes(LOG_A, LOG_B),
        ProbeNetwork {
            overlay: 1500,
            option_offset: 50,
            encrypted: false,
        },
        "swarmpi image",
        &[],
    );
    let bad = failed(&checks);
    assert_eq!(bad.len(), 1, "{bad:#?}");
    assert_eq!(bad[0].check, "largest packet");
    assert!(
        bad[0]
            .detail
            .contains("1450 bytes cross unfragmented; overlay MTU 1500")
    );
    assert!(
        bad[0]
            .fix
            .as_deref()
            .unwrap()
            .contains("deploy with --mtu 1500 (containers then get 1450)")
    );
}

#[test]
fn a_missing_image_an_old_engine_and_a_skewed_clock_each_have_a_fix() {
    let mut servers = two_servers();
    servers[1].engine_version = "19.03.15".into();
    let mut all = outcomes(&LOG_A.replace("clock 10.9.0.3 12", "clock 10.9.0.3 2400"), LOG_B);
    let checks_skewed = checks(&servers, &all, MTU, "swarmpi image", &[]);
    let bad: Vec<&str> = failed(&checks_skewed).iter().map(|c| c.check.as_str()).collect();
    assert_eq!(bad, ["docker engine", "clock offset"]);
    all.insert(
        "10.0.0.3".into(),
        ProbeOutcome::Failed("No such image: localhost/swarmpi-node:x".into()),
    );
    let missing = checks(
        &two_servers(),
        &all,
        MTU,
        "swarmpi image --packages \"hello\"",
        &[],
    );
    let bad = failed(&missing);
    assert_eq!(bad.len(), 1, "{bad:#?}");
    assert_eq!(
        bad[0].fix.as_deref(),
        Some("on that server, run `swarmpi image --packages \"hello\"`")
    );
}

#[test]
fn a_host_network_clusters_ports_are_checked_both_ways() {
    let block = HostBlock {
        whose: "cluster hm".into(),
        block: PortBlock::new(20000).unwrap(),
    };
    let open = |to: &str| {
        format!(
            "doctor port {to} 20000/tcp ok\ndoctor port {to} 20001/tcp ok\ndoctor port {to} 20511/tcp ok\n"
        )
    };
    let a = format!("{LOG_A}{}", open("10.0.0.3"));
    let b = format!("{LOG_B}{}", open("10.0.0.2"));
    let good = checks(
        &two_servers(),
        &outcomes(&a, &b),
        MTU,
        "swarmpi image",
        std::slice::from_ref(&block),
    );
    let ports = good
        .iter()
        .find(|c| c.check == "cluster hm ports 20000-20511")
        .expect("a check");
    assert!(ports.ok, "{ports:?}");
    // b cannot reach a's last port: named, with the firewall fix.
    let b = b.replace("10.0.0.2 20511/tcp ok", "10.0.0.2 20511/tcp fail");
    let bad = checks(&two_servers(), &outcomes(&a, &b), MTU, "swarmpi image", &[block]);
    let bad = failed(&bad);
    assert_eq!(bad.len(), 1, "{bad:#?}");
    assert_eq!(bad[0].detail, "closed in at least one direction: 20511/tcp");
    assert!(
        bad[0].fix.as_deref().unwrap().contains("--host-ports 20000"),
        "{bad:?}"
    );
}
