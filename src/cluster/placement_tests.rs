//! Unit tests of `placement`: the mapping model, machine loads, and the
//! yield and oversubscription decisions.

use super::*;
use crate::cluster::members::test_member;
use crate::cluster::servers::tests::server;

fn member(slot: u32, server: &str, slots: u32) -> Member {
    test_member(slot, server, slots)
}

/// Two servers on one 2-core machine (the lab), 2 containers each, 1 slot each.
fn lab() -> (Vec<Member>, Vec<Server>) {
    let members = vec![
        member(1, "10.77.0.2", 1),
        member(2, "10.77.0.3", 1),
        member(3, "10.77.0.2", 1),
        member(4, "10.77.0.3", 1),
    ];
    (
        members,
        vec![
            server("a", "10.77.0.2", "ready"),
            server("b", "10.77.0.3", "ready"),
        ],
    )
}

/// Two real machines with 8 cores, 2 containers each, 4 slots each.
fn two_machines() -> (Vec<Member>, Vec<Server>) {
    let members = vec![
        member(1, "192.168.1.10", 4),
        member(2, "192.168.1.11", 4),
        member(3, "192.168.1.10", 4),
        member(4, "192.168.1.11", 4),
    ];
    let mut a = server("a", "192.168.1.10", "ready");
    let mut b = server("b", "192.168.1.11", "ready");
    (a.hostname, b.hostname, a.cpus, b.cpus) = ("node1".into(), "node2".into(), 8, 8);
    (members, vec![a, b])
}

#[test]
fn ranks_fill_slots_in_order_then_spread_evenly() {
    assert_eq!(ranks_per_container(&[2, 2, 2], 3), [2, 1, 0]);
    assert_eq!(ranks_per_container(&[1, 1, 1, 1], 8), [2, 2, 2, 2]);
    assert_eq!(ranks_per_container(&[1, 1, 1, 1], 6), [2, 2, 1, 1]);
    assert_eq!(ranks_per_container(&[4, 1], 7), [5, 2]);
    assert!(ranks_per_container(&[], 3).is_empty());
}

#[test]
fn servers_sharing_a_machine_count_as_one() {
    let (members, servers) = lab();
    let loads = machine_loads(&members, &servers, 8);
    assert_eq!(loads.len(), 1, "{loads:?}");
    assert_eq!(loads[0].servers, ["10.77.0.2", "10.77.0.3"]);
    assert_eq!((loads[0].cpus, loads[0].ranks), (2, 8));
    let (members, servers) = two_machines();
    let loads = machine_loads(&members, &servers, 10);
    let ranks: Vec<u32> = loads.iter().map(|m| m.ranks).collect();
    assert_eq!(
        ranks,
        [8, 2],
        "mpi-1 and mpi-3 (node1) fill first, then mpi-2 on node2"
    );
}

#[test]
fn ranks_yield_when_a_machine_is_full_and_the_job_crosses_containers() {
    let (members, servers) = lab();
    // Two ranks in two containers on a 2-core machine: the 4 ms tick.
    let loads = machine_loads(&members, &servers, 2);
    assert!(needs_yield(&members, &loads, 2));
    // Six ranks in two containers of an 8-core machine: cores to spare.
    let (big, big_servers) = two_machines();
    assert!(!needs_yield(&big, &machine_loads(&big, &big_servers, 6), 6));
    // Sixteen ranks on those 16 cores: full.
    assert!(needs_yield(&big, &machine_loads(&big, &big_servers, 16), 16));
}

#[test]
fn ranks_of_one_container_use_shared_memory_and_never_yield() {
    let (mut members, servers) = lab();
    members[0].slots = 4;
    let loads = machine_loads(&members, &servers, 4);
    assert_eq!(loads[0].ranks, 4);
    assert!(!needs_yield(&members, &loads, 4), "all 4 ranks are in mpi-1");
}

#[test]
fn oversubscription_is_sensible_up_to_the_limit_and_strict_on_request() {
    assert_eq!(check_ranks("mpi", 4, 4, Oversubscribe::Sensible), Ok(false));
    assert_eq!(check_ranks("mpi", 8, 4, Oversubscribe::Sensible), Ok(true));
    assert_eq!(check_ranks("mpi", 32, 4, Oversubscribe::Sensible), Ok(true));
    let typo = check_ranks("mpi", 33, 4, Oversubscribe::Sensible).unwrap_err();
    assert_eq!(
        typo.message,
        "-n 33 is more than 8 ranks per slot of cluster mpi (4 slots)"
    );
    assert_eq!(check_ranks("mpi", 1000, 4, Oversubscribe::Any), Ok(true));
    let strict = check_ranks("mpi", 5, 4, Oversubscribe::Never).unwrap_err();
    assert_eq!(
        strict.message,
        "-n 5 asks for more ranks than cluster mpi has slots (4)"
    );
}
