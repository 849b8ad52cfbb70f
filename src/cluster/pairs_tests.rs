//! Unit tests of `bench`: pair selection, output parsing and verdicts.

use super::*;
use crate::cluster::members::test_member;
use crate::cluster::servers::tests::server;

fn member(slot: u32, server: &str) -> Member {
    test_member(slot, server, 1)
}

#[test]
fn one_pair_per_class_and_every_pair_of_servers() {
    let members = [member(1, "a"), member(2, "b"), member(3, "a"), member(4, "c")];
    let pairs = pairs(&members);
    let shown: Vec<(Class, usize, usize)> = pairs.iter().map(|p| (p.class, p.a, p.b)).collect();
    assert_eq!(
        shown,
        [
            (Class::SameContainer, 0, 0),
            (Class::Siblings, 0, 2),
            (Class::CrossServer, 0, 1),
            (Class::CrossServer, 0, 3),
            (Class::CrossServer, 1, 3),
        ]
    );
    let one_each = [member(1, "a"), member(2, "b")];
    assert!(pairs_of(&one_each).iter().all(|c| *c != Class::Siblings));
    let many: Vec<Member> = (1..=20).map(|i| member(i, &format!("s{i}"))).collect();
    let cross = pairs_of(&many)
        .iter()
        .filter(|c| **c == Class::CrossServer)
        .count();
    assert_eq!(cross, MAX_SERVER_PAIRS, "bounded, not 190");
}

fn pairs_of(members: &[Member]) -> Vec<Class> {
    pairs(members).into_iter().map(|p| p.class).collect()
}

#[test]
fn pairs_on_a_full_machine_yield_and_same_container_pairs_do_not() {
    let members = [member(1, "10.77.0.2"), member(2, "10.77.0.3")];
    let servers = [
        server("a", "10.77.0.2", "ready"),
        server("b", "10.77.0.3", "ready"),
    ];
    let pairs = pairs(&members);
    assert!(
        !pair_yields(&members, &servers, &pairs[0]),
        "shared memory needs no kernel"
    );
    assert!(
        pair_yields(&members, &servers, &pairs[1]),
        "2 ranks on the lab's 2 CPUs"
    );
}

#[test]
fn parses_what_the_ping_pong_printed() {
    let both = parse("latency_us 20.61\nbandwidth_mbs 497.2\n", false);
    assert_eq!((both.latency_us, both.bandwidth_mbs), (Some(20.61), Some(497.2)));
    let half = parse("latency_us 31.0\n[mpi-1] some warning\n", true);
    assert_eq!(
        (half.latency_us, half.bandwidth_mbs, half.timed_out),
        (Some(31.0), None, true)
    );
}

#[test]
fn verdicts_name_the_cause() {
    let ok = Measured {
        latency_us: Some(20.0),
        bandwidth_mbs: Some(500.0),
        timed_out: false,
    };
    assert_eq!(
        verdict(Class::CrossServer, &ok, Some(1000.0)),
        (true, "ok".into())
    );
    let tick = Measured {
        latency_us: Some(4008.0),
        ..ok.clone()
    };
    assert!(verdict(Class::Siblings, &tick, None).1.contains("scheduler tick"));
    let black_hole = Measured {
        bandwidth_mbs: None,
        timed_out: true,
        ..ok.clone()
    };
    assert!(
        verdict(Class::CrossServer, &black_hole, None)
            .1
            .contains("MTU black hole")
    );
    let blocked = Measured {
        latency_us: None,
        bandwidth_mbs: None,
        timed_out: true,
    };
    assert!(
        verdict(Class::CrossServer, &blocked, None)
            .1
            .contains("blocked port")
    );
    let slow = Measured {
        bandwidth_mbs: Some(50.0),
        ..ok.clone()
    };
    assert!(
        verdict(Class::CrossServer, &slow, Some(1000.0))
            .1
            .contains("slow link")
    );
    assert!(verdict(Class::SameContainer, &ok, None).0);
}

#[test]
fn mtu_notes_say_when_the_overlay_does_not_follow_the_underlay() {
    assert_eq!(mtu_note(Some(1500), 1450), None);
    assert_eq!(mtu_note(None, 1450), None);
    let jumbo = mtu_note(Some(9000), 1450).unwrap();
    assert!(
        jumbo.contains("an overlay MTU of 8950 means fewer, larger packets"),
        "{jumbo}"
    );
    assert!(mtu_too_big(Some(1500), 1550) && !mtu_too_big(Some(1500), 1450));
    assert!(!mtu_too_big(None, 8950) && !mtu_too_big(Some(9000), 1450));
    let too_big = mtu_note(Some(1500), 8950).unwrap();
    assert!(
        too_big.contains("large messages are fragmented or lost; containers need an MTU of at most 1450"),
        "{too_big}"
    );
}

fn measured(latency: f64, bandwidth: f64) -> Measured {
    Measured {
        latency_us: Some(latency),
        bandwidth_mbs: Some(bandwidth),
        timed_out: false,
    }
}

#[test]
fn a_pair_is_set_against_its_wire_by_ratios() {
    let against = AgainstWire::new(&measured(20.0, 930.0), measured(16.0, 1860.0));
    assert_eq!(against.latency_ratio, Some(1.25));
    assert_eq!(against.bandwidth_ratio, Some(0.5));
    let (ok, verdict) = wire_verdict(&against, false);
    assert!(ok, "half the wire is the overlay's known cost, not a fault");
    assert!(verdict.contains("0.50x the wire's bandwidth"), "{verdict}");
    assert!(verdict.contains("--network host"), "{verdict}");
}

#[test]
fn a_pair_far_below_its_wire_is_off() {
    let against = AgainstWire::new(&measured(40.0, 300.0), measured(16.0, 1800.0));
    let (ok, verdict) = wire_verdict(&against, false);
    assert!(!ok);
    assert!(
        verdict.contains("0.17x the wire's bandwidth: far below it"),
        "{verdict}"
    );
}

#[test]
fn a_pair_at_the_wire_says_so_and_a_missing_wire_is_not_a_fault() {
    let against = AgainstWire::new(&measured(16.5, 1750.0), measured(16.0, 1800.0));
    let (ok, verdict) = wire_verdict(&against, true);
    assert!(ok);
    assert!(verdict.starts_with("ok, at the wire (0.97x"), "{verdict}");
    let unknown = AgainstWire::new(&measured(16.5, 1750.0), Measured::default());
    assert_eq!(unknown.bandwidth_ratio, None);
    assert!(wire_verdict(&unknown, false).0);
}
