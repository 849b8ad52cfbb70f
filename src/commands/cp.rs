//! `swarmpi cp SRC DEST`: docker cp's shape, between the manager and one
//! container or every container of a cluster (see `files::cp`).

use std::path::PathBuf;

use anyhow::Result;

use crate::access::OpenCluster;
use crate::cli::CpArgs;
use crate::cluster::endpoint::{self, Endpoint, Target};
use crate::context::Context;
use crate::error::{Outcome, UserError};
use crate::files::cp;
use crate::files::project::Tree;
use crate::heal::with_cluster;
use crate::state::StateDir;

pub enum CpOptions {
    /// From one container's path to a local path.
    Fetch {
        target: String,
        path: String,
        dest: PathBuf,
    },
    /// From a local path to a cluster's or a container's path.
    Put {
        source: PathBuf,
        target: String,
        path: String,
    },
}

impl TryFrom<CpArgs> for CpOptions {
    type Error = anyhow::Error;

    fn try_from(args: CpArgs) -> Result<Self> {
        match (Endpoint::parse(&args.source), Endpoint::parse(&args.dest)) {
            (Endpoint::Remote { target, path }, Endpoint::Local(dest)) => Ok(CpOptions::Fetch {
                target,
                path: endpoint::remote_path(&path)?,
                dest,
            }),
            (Endpoint::Local(source), Endpoint::Remote { target, path }) => Ok(CpOptions::Put {
                source,
                target,
                path: endpoint::remote_path(&path)?,
            }),
            (Endpoint::Local(_), Endpoint::Local(_)) => {
                Err(UserError::usage("neither side of cp is in the cluster")
                    .hint("write a container or cluster before the path, e.g. mpi-1:out.dat or mpi:data/")
                    .into())
            }
            _ => Err(UserError::usage(
                "cp copies between the manager and the cluster, not between containers",
            )
            .hint("copy to this machine first, then from it")
            .into()),
        }
    }
}

pub async fn run(ctx: &Context, options: CpOptions) -> Result<Outcome> {
    let states = StateDir::new(&ctx.settings.state_dir);
    let exists = |name: &str| matches!(states.load(name), Ok(Some(_)));
    match options {
        CpOptions::Fetch { target, path, dest } => {
            let target = Target::resolve(&target, exists)?;
            let Target::Container(names, _) = &target else {
                return Err(UserError::usage(format!(
                    "cp from cluster {} needs one container",
                    target.names().cluster
                ))
                .hint(format!("name it, e.g. {}:{path}", target.names().hostname(1)))
                .into());
            };
            let (written, bytes) = with_cluster(ctx, names, async |cluster| {
                let index = indexes(cluster, &target)?[0];
                cp::fetch(cluster, index, &path, &dest, &ctx.printer).await
            })
            .await?;
            ctx.printer
                .info(format!("copied {path} to {} ({bytes} bytes)", written.display()));
        }
        CpOptions::Put { source, target, path } => {
            let tree = Tree::read(&source)?;
            tree.warn_skipped(&ctx.printer);
            let target = Target::resolve(&target, exists)?;
            let delivered = with_cluster(ctx, target.names(), async |cluster| {
                let targets = indexes(cluster, &target)?;
                cp::put(cluster, &targets, &tree, &path, &ctx.printer).await
            })
            .await?;
            ctx.printer.info(format!(
                "copied {} ({} file(s), {} bytes) to {path} in {} container(s); {} bytes left the manager",
                source.display(),
                tree.manifest.files.len(),
                tree.total_bytes(),
                delivered.containers,
                delivered.bytes
            ));
        }
    }
    Ok(Outcome::Success)
}

/// The members `target` names.
fn indexes(cluster: &OpenCluster, target: &Target) -> Result<Vec<usize>> {
    let Target::Container(names, slot) = target else {
        return Ok((0..cluster.members.len()).collect());
    };
    let hostname = names.hostname(*slot);
    match cluster.members.iter().position(|m| m.hostname == hostname) {
        Some(index) => Ok(vec![index]),
        None => {
            let all: Vec<&str> = cluster.members.iter().map(|m| m.hostname.as_str()).collect();
            Err(
                UserError::usage(format!("cluster {} has no container {hostname}", names.cluster))
                    .hint(format!("its containers are {}", all.join(", ")))
                    .into(),
            )
        }
    }
}
