//! `swarmpi exec CMD...`: a command in the head container, as the MPI user,
//! over the cluster's SSH path; exits with the command's code.

use anyhow::Result;

use crate::cli::ExecArgs;
use crate::cluster::names::ClusterNames;
use crate::cluster::program::shell_quote;
use crate::context::Context;
use crate::error::Outcome;
use crate::heal::with_cluster;
use crate::job;

pub struct ExecOptions {
    pub names: ClusterNames,
    pub command: Vec<String>,
}

impl TryFrom<ExecArgs> for ExecOptions {
    type Error = anyhow::Error;

    fn try_from(args: ExecArgs) -> Result<Self> {
        Ok(ExecOptions {
            names: args.cluster.try_into()?,
            command: args.command,
        })
    }
}

pub async fn run(ctx: &Context, options: ExecOptions) -> Result<Outcome> {
    let words: Vec<String> = options.command.iter().map(|w| shell_quote(w)).collect();
    let status = with_cluster(ctx, &options.names, async |cluster| {
        job::stream(ctx, cluster, &words.join(" "), "running the command").await
    })
    .await?;
    Ok(Outcome::Remote(status))
}
