//! Puts the commit swarmpi is built from in its `--version`, when the
//! source is a git checkout (as cargo and ripgrep do): `0.1.0 (rev 1a2b3c4d)`.

use std::process::Command;

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let commit = Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|rev| !rev.is_empty());
    let full = match commit {
        Some(rev) => format!("{version} (rev {rev})"),
        None => version.to_string(),
    };
    println!("cargo:rustc-env=SWARMPI_VERSION={full}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
