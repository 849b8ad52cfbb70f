use super::*;

fn state(sha: &str) -> FileState {
    FileState(sha.into(), 0o644)
}

fn manifest(files: &[(&str, &str)], dirs: &[&str]) -> Manifest {
    Manifest {
        files: files.iter().map(|(p, s)| (p.to_string(), state(s))).collect(),
        dirs: dirs.iter().map(|d| d.to_string()).collect(),
    }
}

fn set(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| p.to_string()).collect()
}

#[test]
fn an_empty_container_needs_everything() {
    let local = manifest(&[("a.c", "1"), ("src/b.c", "2")], &["src", "out"]);
    let need = need(&local, &Report::default());
    assert_eq!(need.send, set(&["a.c", "src/b.c"]));
    assert!(need.delete.is_empty());
    assert!(need.relist);
}

#[test]
fn an_empty_project_still_gets_its_directory_once() {
    let empty = Manifest::default();
    assert!(!need(&empty, &Report::default()).is_empty());
    let there = Report {
        exists: true,
        ..Report::default()
    };
    assert!(need(&empty, &there).is_empty());
}

#[test]
fn only_changed_files_travel_and_removed_ones_are_deleted() {
    let before = manifest(&[("a.c", "1"), ("b.c", "2"), ("old.h", "3")], &[]);
    let report = Report {
        exists: true,
        files: before.files.clone(),
        synced: before.synced_list(),
    };
    assert!(
        need(&before, &report).is_empty(),
        "an unchanged project needs nothing"
    );
    let after = manifest(&[("a.c", "1"), ("b.c", "9")], &[]);
    let need = need(&after, &report);
    assert_eq!(need.send, set(&["b.c"]));
    assert_eq!(need.delete, set(&["old.h"]));
}

#[test]
fn a_changed_mode_travels_and_a_file_made_in_the_container_is_never_deleted() {
    let local = manifest(&[("run.sh", "1")], &[]);
    let mut files = local.files.clone();
    files.get_mut("run.sh").unwrap().1 = 0o755;
    // solver was built in the container: it is in no synced list.
    let report = Report {
        exists: true,
        files,
        synced: vec!["run.sh".into()],
    };
    let need = need(&local, &report);
    assert_eq!(need.send, set(&["run.sh"]));
    assert!(need.delete.is_empty());
}

#[test]
fn each_server_gets_the_union_of_what_its_containers_lack_once() {
    let local = manifest(&[("a", "1"), ("b", "2")], &[]);
    let current = Report {
        exists: true,
        files: local.files.clone(),
        synced: local.synced_list(),
    };
    let lacks_a = Report {
        exists: true,
        files: [("b".to_string(), state("2"))].into(),
        synced: local.synced_list(),
    };
    let needs: Vec<Need> = [&current, &lacks_a, &Report::default(), &current]
        .into_iter()
        .map(|r| need(&local, r))
        .collect();
    let grouped = by_server(["s1", "s1", "s2", "s2"], &needs);
    assert_eq!(grouped["s1"], (vec![1], set(&["a"])));
    assert_eq!(grouped["s2"], (vec![2], set(&["a", "b"])));
    let all_current = vec![need(&local, &current); 2];
    assert!(by_server(["s1", "s2"], &all_current).is_empty());
}

#[test]
fn meta_carries_only_what_is_sent_and_the_list_for_a_sync() {
    let local = manifest(&[("a", "1"), ("b", "2")], &["data"]);
    let meta = meta(&local, &set(&["b"]), true);
    assert_eq!(meta["files"], serde_json::json!({"b": ["2", 0o644]}));
    assert_eq!(meta["dirs"], serde_json::json!(["data"]));
    assert_eq!(meta["synced"], serde_json::json!(["a", "b", "data/"]));
    assert!(super::meta(&local, &set(&[]), false).get("synced").is_none());
}

#[test]
fn refuses_paths_the_helper_could_not_take() {
    assert!(check_path("src/main.c").is_ok());
    assert!(check_path("a\nb").unwrap_err().contains("line break"));
    assert!(check_path("../x").is_err());
    assert!(check_path("/etc/passwd").is_err());
}
