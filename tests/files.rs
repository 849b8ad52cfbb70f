//! Real programs on the lab's cluster (2 servers x 2 containers): Python
//! with mpi4py, project directories synced and built in the cluster, and
//! `swarmpi cp` both ways.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::{Lab, Run, deployed, example};

/// A fresh directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("swarmpi-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of examples/project named `name` (its name in the containers).
fn project_copy(name: &str) -> PathBuf {
    let dir = scratch(name).join(name);
    fs::create_dir_all(&dir).unwrap();
    for entry in fs::read_dir(example("project")).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

fn sync_json(lab: &Lab, dir: &Path) -> Value {
    let run = lab
        .swarmpi("a", &["sync", "--json", dir.to_str().unwrap()])
        .success();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("sync JSON: {e}\n{run}"))
}

/// `script` run by sh in the project's directory of each of the 4
/// containers (one rank each).
fn in_every_container(lab: &Lab, dir: &Path, script: &str) -> Run {
    lab.swarmpi(
        "a",
        &[
            "run",
            "-n",
            "4",
            "--dir",
            dir.to_str().unwrap(),
            "sh",
            "-c",
            script,
        ],
    )
}

#[test]
fn mpi4py_allreduce_over_8_ranks_gives_every_rank_the_total() {
    let lab = deployed();
    let run = lab
        .swarmpi("a", &["run", "-n", "8", &example("allreduce.py")])
        .success();
    let totals: Vec<&str> = run.stdout.lines().filter(|l| l.contains(" of 8 on ")).collect();
    assert_eq!(totals.len(), 8, "{run}");
    assert!(totals.iter().all(|l| l.ends_with("sum of ranks = 28")), "{run}");
    let hosts: std::collections::BTreeSet<&str> = totals
        .iter()
        .filter_map(|l| l.split(" on ").nth(1)?.split(':').next())
        .collect();
    assert_eq!(hosts.len(), 4, "{run}");
}

#[test]
fn a_python_syntax_error_shows_pythons_message_and_fails() {
    let lab = deployed();
    let dir = scratch("pyerror");
    let script = dir.join("broken.py");
    fs::write(&script, "from mpi4py import MPI\nprint('unclosed'\n").unwrap();
    let run = lab.swarmpi("a", &["run", "-n", "2", script.to_str().unwrap()]);
    assert_ne!(run.code, 0, "{run}");
    assert!(run.stderr.contains("SyntaxError"), "{run}");
}

#[test]
fn a_project_is_synced_built_run_and_its_result_fetched() {
    let lab = deployed();
    let dir = project_copy("sumproj");
    let dir_arg = dir.to_str().unwrap();
    let args = [
        "run",
        "-n",
        "4",
        "--dir",
        dir_arg,
        "--build",
        "make",
        "./solver",
        "input.txt",
    ];
    let run = lab.swarmpi("a", &args).success();
    assert!(run.stdout.contains("rank 0 wrote results/sum.txt: 5050"), "{run}");
    assert!(
        run.stdout.contains("mpicc -O2 -Wall -c main.c"),
        "build output shown: {run}"
    );
    let back = scratch("fetched");
    lab.swarmpi(
        "a",
        &[
            "cp",
            "mpi-1:projects/sumproj/results/sum.txt",
            back.to_str().unwrap(),
        ],
    )
    .success();
    let fetched = fs::read_to_string(back.join("sum.txt")).unwrap();
    assert_eq!(fetched, "sum of 100 numbers over 4 ranks = 5050\n");
    // A directory comes back whole, under the name given.
    let results = back.join("results-copy");
    lab.swarmpi(
        "a",
        &["cp", "mpi-1:projects/sumproj/results", results.to_str().unwrap()],
    )
    .success();
    assert_eq!(fs::read_to_string(results.join("sum.txt")).unwrap(), fetched);
    // Nothing but what was asked for is left beside it.
    let names: Vec<String> = fs::read_dir(&back)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn a_second_sync_sends_only_the_changed_file_and_deletes_removed_ones() {
    let lab = deployed();
    let dir = project_copy("syncproj");
    fs::write(dir.join("big.dat"), vec![7u8; 200_000]).unwrap();
    let first = sync_json(&lab, &dir);
    assert_eq!(first["files"], 6, "{first}");
    assert_eq!(first["sent_files"], 6, "{first}");
    // Once per server, not per container: 2 copies of 200 kB and change.
    let first_bytes = first["sent_bytes"].as_u64().unwrap();
    assert!((400_000..460_000).contains(&first_bytes), "{first}");
    let again = sync_json(&lab, &dir);
    assert_eq!(again["updated_containers"], 0, "{again}");
    assert_eq!(again["sent_bytes"], 0, "{again}");

    fs::write(dir.join("input.txt"), "1\n2\n3\n").unwrap();
    let edit = sync_json(&lab, &dir);
    assert_eq!(edit["sent_files"], 1, "{edit}");
    assert_eq!(edit["updated_containers"], 4, "{edit}");
    assert!(edit["sent_bytes"].as_u64().unwrap() < 2 * 8192, "{edit}");

    // Build in the cluster, then remove a file on the manager.
    let build = [
        "run",
        "-n",
        "4",
        "--dir",
        dir.to_str().unwrap(),
        "--build",
        "make",
        "./solver",
        "input.txt",
    ];
    let run = lab.swarmpi("a", &build).success();
    assert!(run.stdout.contains("wrote results/sum.txt: 6"), "{run}");
    fs::remove_file(dir.join("big.dat")).unwrap();
    let removed = sync_json(&lab, &dir);
    assert_eq!(removed["deleted_files"], 1, "{removed}");
    // Gone everywhere; what the build made is kept everywhere.
    let check = in_every_container(
        &lab,
        &dir,
        "test ! -e big.dat && test -x solver && grep -c . input.txt",
    );
    let check = check.success();
    assert_eq!(check.stdout.lines().filter(|l| *l == "3").count(), 4, "{check}");
}

#[test]
fn cp_puts_a_file_in_every_container_of_a_cluster() {
    let lab = deployed();
    let dir = scratch("cpput");
    let input = dir.join("params.txt");
    fs::write(&input, "alpha=1\n").unwrap();
    lab.swarmpi("a", &["cp", input.to_str().unwrap(), "mpi:cpdata/"])
        .success();
    let empty = scratch("cpcheck").join("cpcheck");
    fs::create_dir_all(&empty).unwrap();
    let check = in_every_container(&lab, &empty, "cat ~/cpdata/params.txt").success();
    assert_eq!(
        check.stdout.lines().filter(|l| *l == "alpha=1").count(),
        4,
        "{check}"
    );
}

#[test]
fn paths_with_spaces_quotes_and_dollars_reach_the_containers_unchanged() {
    let lab = deployed();
    let dir = scratch("odd");
    let name = "odd.dat";
    fs::write(dir.join(name), "odd=1\n").unwrap();
    let source = dir.join(name);
    let remote_dir = "it's a $HOME `id` dir";
    lab.swarmpi(
        "a",
        &["cp", source.to_str().unwrap(), &format!("mpi:{remote_dir}/")],
    )
    .success();
    // An exact argv: each word arrives as typed, nothing expanded.
    let remote = format!("{remote_dir}/{name}");
    let read = lab.swarmpi("a", &["exec", "--", "cat", &remote]).success();
    assert_eq!(read.stdout, "odd=1\n", "{read}");
    let back = scratch("odd-back");
    lab.swarmpi("a", &["cp", &format!("mpi-2:{remote}"), back.to_str().unwrap()])
        .success();
    assert_eq!(fs::read_to_string(back.join(name)).unwrap(), "odd=1\n");
}

#[test]
fn files_bad_input_gets_clear_errors_and_leaves_nothing() {
    let lab = deployed();
    let dir = scratch("bad");
    let missing = dir.join("nope");
    lab.swarmpi("a", &["sync", missing.to_str().unwrap()])
        .failure(2, "cannot read project directory");
    // A build that fails launches nothing and says so.
    let project = project_copy("brokenproj");
    fs::write(project.join("compute.c"), "this is not C\n").unwrap();
    let args = [
        "run",
        "-n",
        "2",
        "--dir",
        project.to_str().unwrap(),
        "--build",
        "make",
        "./solver",
        "input.txt",
    ];
    let run = lab
        .swarmpi("a", &args)
        .failure(2, "the build `make` failed on mpi-1");
    assert!(run.stderr.contains("nothing was launched"), "{run}");
    assert!(!run.stdout.contains("wrote results"), "{run}");
    let here = dir.to_str().unwrap();
    lab.swarmpi("a", &["cp", "mpi-9:x", here])
        .failure(2, "cluster mpi has no container mpi-9");
    lab.swarmpi("a", &["cp", "mpi-1:no/such/file", here])
        .failure(2, "container mpi-1 has no /home/mpi/no/such/file");
    lab.swarmpi("a", &["cp", "mpi:x", here])
        .failure(2, "cp from cluster mpi needs one container");
    let file = dir.join("f.txt");
    fs::write(&file, "x").unwrap();
    lab.swarmpi("a", &["cp", file.to_str().unwrap(), "nocluster:data/"])
        .failure(2, "no cluster or container named 'nocluster'");
    lab.swarmpi("a", &["cp", missing.to_str().unwrap(), "mpi:data/"])
        .failure(2, "cannot read");
    let left: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["f.txt"], "nothing half-made beside the destination");
}
