//! deploy/'s scripts, run for real in a throwaway container of the base
//! image (Debian, no Docker, no swarmpi): each twice, the second run
//! changing nothing.

use crate::harness::Lab;

#[test]
fn install_and_firewall_scripts_change_nothing_the_second_time() {
    let lab = Lab::get();
    let root = env!("CARGO_MANIFEST_DIR");
    let binary = env!("CARGO_BIN_EXE_swarmpi");
    let script = r#"set -e
        /src/deploy/install.sh --binary /swarmpi > /tmp/first.txt
        /src/deploy/install.sh --binary /swarmpi > /tmp/second.txt
        apt-get install -y -qq --no-install-recommends nftables firewalld netbase > /dev/null
        nft add table inet filter
        nft add chain inet filter input '{ type filter hook input priority 0; policy drop; }'
        /src/deploy/firewall.sh --tool nftables --manager --host-ports 20000 >> /tmp/first.txt
        /src/deploy/firewall.sh --tool nftables --manager --host-ports 20000 >> /tmp/second.txt
        fw='/src/deploy/firewall.sh --tool firewalld-offline --encrypted --host-ports 20512 --from 10.77.0.0/24'
        $fw > /tmp/fw-first.txt 2> /tmp/fw-warnings.txt
        $fw > /tmp/fw-second.txt
        cat /tmp/first.txt; echo ===; cat /tmp/second.txt; echo ===; nft list chain inet filter input
        echo ===; cat /tmp/fw-first.txt /tmp/fw-warnings.txt; echo ===; cat /tmp/fw-second.txt
        echo ===; firewall-offline-cmd --list-all"#;
    let run = lab
        .docker(
            "a",
            &[
                "run",
                "--rm",
                "--cap-add",
                "NET_ADMIN",
                "-v",
                &format!("{root}:/src:ro"),
                "-v",
                &format!("{binary}:/swarmpi:ro"),
                "debian:bookworm-slim",
                "bash",
                "-c",
                script,
            ],
        )
        .success();
    let parts: Vec<&str> = run.stdout.split("===\n").collect();
    let (first, second, rules) = (parts[0], parts[1], parts[2]);
    let (fw_first, fw_second, fw_rules) = (parts[3], parts[4], parts[5]);
    assert!(first.contains("docker engine: installed docker.io"), "{run}");
    assert!(
        first.contains("swarmpi: installed /usr/local/bin/swarmpi"),
        "{run}"
    );
    assert!(
        first.contains("nftables: opened 2377/tcp") && first.contains("nftables: opened 4789/udp"),
        "{run}"
    );
    assert_eq!(second.matches("done: nothing to change").count(), 2, "{run}");
    assert!(
        !second.contains("installed") && !second.contains("opened"),
        "{run}"
    );
    // Each port once, whatever the number of runs.
    assert_eq!(
        rules.matches("comment \"swarmpi 7946/udp\"").count(),
        1,
        "{rules}"
    );
    // A host-network cluster's block: its sshd and Open MPI's ports, once.
    assert_eq!(
        rules
            .matches("tcp dport 20000-20511 accept comment \"swarmpi 20000-20511/tcp\"")
            .count(),
        1,
        "{rules}"
    );
    // Without --from, the script says loudly that the ports open to all.
    assert!(run.stderr.contains("open to EVERY address"), "{run}");
    assert!(run.stderr.contains("without authentication"), "{run}");
    // firewalld: every port and ESP only from the servers' network, once.
    assert!(!fw_first.contains("WARNING"), "{fw_first}");
    assert_eq!(fw_first.matches("firewalld: opened").count(), 5, "{fw_first}");
    assert!(fw_second.contains("done: nothing to change"), "{fw_second}");
    for rule in [
        r#"rule family="ipv4" source address="10.77.0.0/24" port port="4789" protocol="udp" accept"#,
        r#"rule family="ipv4" source address="10.77.0.0/24" protocol value="esp" accept"#,
        r#"rule family="ipv4" source address="10.77.0.0/24" port port="20512-21023" protocol="tcp" accept"#,
    ] {
        assert_eq!(fw_rules.matches(rule).count(), 1, "{fw_rules}");
    }
    assert!(fw_rules.contains("ports: \n"), "no port open to all: {fw_rules}");
}
