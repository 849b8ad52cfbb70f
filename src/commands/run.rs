//! `swarmpi run -n N PROGRAM [ARGS...]`: put the program in every container
//! (compiling it in the cluster if it is a source file), run mpirun from the
//! head, stream its output, exit with its code (see `job`).

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::RunArgs;
use crate::cluster::names::ClusterNames;
use crate::cluster::placement::Oversubscribe;
use crate::cluster::program::Launch;
use crate::context::Context;
use crate::error::{Outcome, UserError};
use crate::heal;
use crate::job::{self, LocalProgram};

pub struct RunOptions {
    pub names: ClusterNames,
    pub launch: Launch,
    pub oversubscribe: Oversubscribe,
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl TryFrom<RunArgs> for RunOptions {
    type Error = anyhow::Error;

    fn try_from(args: RunArgs) -> Result<Self> {
        if args.ranks == 0 {
            return Err(UserError::usage("-n must be at least 1").into());
        }
        let mca = args
            .mca
            .chunks(2)
            .map(|kv| (kv[0].clone(), kv[1].clone()))
            .collect();
        let oversubscribe = match (args.oversubscribe, args.no_oversubscribe) {
            (true, _) => Oversubscribe::Any,
            (_, true) => Oversubscribe::Never,
            _ => Oversubscribe::Sensible,
        };
        Ok(RunOptions {
            names: args.cluster.try_into()?,
            oversubscribe,
            launch: Launch {
                ranks: args.ranks,
                oversubscribe: false,
                mca,
                export: args.export,
                map_by: args.map_by,
                extra: args.mpi_arg,
            },
            program: args.program,
            args: args.args,
        })
    }
}

pub async fn run(ctx: &Context, options: RunOptions) -> Result<Outcome> {
    let local = LocalProgram::read(&options.program)?;
    let cluster = heal::open(ctx, &options.names).await?;
    let launch = job::fit(
        ctx,
        &cluster,
        &options.names,
        &options.launch,
        options.oversubscribe,
    );
    let status = match launch {
        Ok(launch) => job::run(ctx, &cluster, &local, &launch, &options.args).await,
        Err(error) => Err(error),
    };
    cluster.close().await;
    Ok(Outcome::Remote(status?))
}
