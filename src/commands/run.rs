//! `swarmpi run -n N PROGRAM [ARGS...]`: put the program in every container
//! (compiling it in the cluster if it is a source file), or sync and build a
//! project (`--dir`, `--build`); run mpirun from the head, stream its output,
//! exit with its code (see `job`).

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::RunArgs;
use crate::cluster::names::{ClusterNames, DEFAULT_CLUSTER};
use crate::cluster::placement::Oversubscribe;
use crate::cluster::program::Launch;
use crate::context::Context;
use crate::error::{Outcome, UserError};
use crate::files::project::Project;
use crate::heal;
use crate::job::{self, LocalProgram, Ran};

pub struct RunOptions {
    pub names: ClusterNames,
    pub launch: Launch,
    pub oversubscribe: Oversubscribe,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// A project to sync and run in, and how to build it.
    pub project: Option<(PathBuf, Option<String>)>,
    pub detach: bool,
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
                workdir: None,
                extra: args.mpi_arg,
            },
            program: args.program,
            args: args.args,
            project: args.dir.map(|dir| (dir, args.build)),
            detach: args.detach,
        })
    }
}

/// What runs: a program from the manager, or one in a project.
enum Work {
    Program(LocalProgram),
    Project(Project, Option<String>),
}

pub async fn run(ctx: &Context, options: RunOptions) -> Result<Outcome> {
    let work = match &options.project {
        None => Work::Program(LocalProgram::read(&options.program)?),
        Some((dir, build)) => Work::Project(Project::scan(dir)?, build.clone()),
    };
    let cluster = heal::open(ctx, &options.names).await?;
    let launch = job::fit(
        ctx,
        &cluster,
        &options.names,
        &options.launch,
        options.oversubscribe,
    );
    let (args, detach) = (&options.args, options.detach);
    let ran = match (launch, &work) {
        (Err(error), _) => Err(error),
        (Ok(launch), Work::Program(local)) => job::run(ctx, &cluster, local, &launch, args, detach).await,
        (Ok(launch), Work::Project(project, build)) => {
            let program = options.program.to_string_lossy();
            let build = build.as_deref();
            job::project::run(ctx, &cluster, project, build, &launch, (&program, args), detach).await
        }
    };
    cluster.close().await;
    match ran? {
        Ran::Exited(status) => Ok(Outcome::Remote(status)),
        Ran::Detached(id) => {
            ctx.printer.data(id.to_string());
            let name = options.names.cluster;
            let flag = if name == DEFAULT_CLUSTER {
                String::new()
            } else {
                format!(" --name {name}")
            };
            ctx.printer.info(format!(
                "job {id} started on cluster {name}; `swarmpi logs{flag} -f {id}` follows it, `swarmpi wait{flag} {id}` waits for it, `swarmpi cancel{flag} {id}` stops it"
            ));
            Ok(Outcome::Success)
        }
    }
}
