//! `swarmpi sync DIR`: the project directory to ~/projects/NAME in every
//! container, only what changed (see `files::sync`).

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::SyncArgs;
use crate::cluster::names::ClusterNames;
use crate::context::Context;
use crate::error::Outcome;
use crate::files::project::Project;
use crate::files::sync;
use crate::heal::with_cluster;

pub struct SyncOptions {
    pub names: ClusterNames,
    pub dir: PathBuf,
}

impl TryFrom<SyncArgs> for SyncOptions {
    type Error = anyhow::Error;

    fn try_from(args: SyncArgs) -> Result<Self> {
        Ok(SyncOptions {
            names: args.cluster.try_into()?,
            dir: args.dir,
        })
    }
}

pub async fn run(ctx: &Context, options: SyncOptions) -> Result<Outcome> {
    let project = Project::scan(&options.dir)?;
    project.tree.warn_skipped(&ctx.printer);
    let synced = with_cluster(ctx, &options.names, async |cluster| {
        sync::sync(cluster, &project, &ctx.printer).await
    })
    .await?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&serde_json::to_value(&synced)?);
    } else {
        ctx.printer.info(sync::summary(&synced));
    }
    Ok(Outcome::Success)
}
