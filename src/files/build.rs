//! After a project is built in the head: its outputs (every file the build
//! wrote) go to the other containers, so the build runs once, not once per
//! container.

use anyhow::{Result, anyhow};

use super::{Delivered, helper};
use crate::access::OpenCluster;
use crate::cluster::digest;
use crate::cluster::layout::SYNC_DIR;
use crate::cluster::remote::Remote;

/// A file whose mtime tells which files a build wrote.
pub struct Mark(String);

impl Mark {
    pub fn new(project: &str) -> Mark {
        Mark(format!(
            "{SYNC_DIR}/{project}.build.{}",
            digest::hex(&rand::random::<[u8; 4]>())
        ))
    }

    pub fn path(&self) -> &str {
        &self.0
    }

    /// The command that sets the mark, to run just before the build.
    pub fn set(&self) -> Remote {
        Remote::script("mkdir -p {} && touch {}", &[SYNC_DIR, &self.0])
    }
}

/// Copies the files under `root` written since `mark` from the head to
/// every other container; forgets the mark.
pub async fn share_outputs(cluster: &OpenCluster, root: &str, mark: &Mark) -> Result<Delivered> {
    let (_, head) = cluster.head();
    let packed = format!("{}.tar", mark.0);
    let pack = helper(&["pack", root, &mark.0]).stdout_to(&packed);
    let result = async {
        let output = head.ask("gathering the build's outputs", &pack, &[]).await?;
        if output.code != 0 {
            return Err(anyhow!(
                "could not gather the build's outputs in {}: {}",
                head.name,
                output.stderr_text()
            ));
        }
        let apply = helper(&["apply", root, "-"]);
        let copies = cluster.members[1..].iter().map(|member| {
            let command = apply.clone().on(&member.hostname).stdin_from(&packed);
            async move {
                let answer = head.ask("sharing the build's outputs", &command, &[]).await?;
                super::parse_applied(answer, &member.hostname)
            }
        });
        let mut delivered = Delivered::default();
        for applied in futures_util::future::join_all(copies).await {
            let applied = applied?;
            delivered.containers += 1;
            delivered.written += applied.written;
        }
        Ok(delivered)
    }
    .await;
    let forget = Remote::argv(["rm", "-f", "--", &mark.0, &packed]);
    let _ = head.ask("removing the build mark", &forget, &[]).await;
    result
}
