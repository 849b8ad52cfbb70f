//! A job in a synced project: sync the directory, build it once in the head
//! (its outputs then shared), and run the program from the project's
//! directory in every container.

use anyhow::Result;

use super::{Ran, stream};
use crate::access::OpenCluster;
use crate::cluster::program::{self, Kind, Launch};
use crate::cluster::remote::Remote;
use crate::context::Context;
use crate::error::UserError;
use crate::files::build::{self, Mark};
use crate::files::project::Project;
use crate::files::sync;

/// Syncs `project`, builds it with `build` if given, then runs `program`
/// (a path or command, relative to the project; a `.py` runs with
/// python3) on the ranks, as a job (see `job::keeper`).
pub async fn run(
    ctx: &Context,
    cluster: &OpenCluster,
    project: &Project,
    build: Option<&str>,
    launch: &Launch,
    (program, args): (&str, &[String]),
    detach: bool,
) -> Result<Ran> {
    let synced = ctx
        .cancel
        .guard("syncing", sync::sync(cluster, project, &ctx.printer));
    ctx.printer.info(sync::summary(&synced.await?));
    if let Some(build) = build {
        build_in_head(ctx, cluster, project, build).await?;
    }
    let launch = Launch {
        workdir: Some(project.remote_dir()),
        ..launch.clone()
    };
    let kind = if program.ends_with(".py") {
        Kind::Python
    } else {
        Kind::Executable
    };
    let command = program::mpirun_command(&launch, &kind.launcher(program), args);
    let label = format!("{}: {}", project.name, super::label(program, args));
    super::start_job(ctx, cluster, &label, launch.ranks, &command, detach).await
}

/// Runs `build` in the project's directory in the head, its output shown
/// as printed; a failure launches nothing. Then the files it wrote go to
/// every other container.
async fn build_in_head(ctx: &Context, cluster: &OpenCluster, project: &Project, build: &str) -> Result<()> {
    let head = &cluster.head().0.hostname;
    let root = project.remote_dir();
    let mark = Mark::new(&project.name);
    // The build command is the user's own shell line, run as typed.
    let command = mark
        .set()
        .and(Remote::argv(["cd", "--", &root]))
        .and(Remote::user_shell(build));
    ctx.printer
        .info(format!("building {} with `{build}` on {head}", project.name));
    let status = stream(ctx, cluster, &command, "building").await?;
    if status != 0 {
        let forget = Remote::argv(["rm", "-f", "--", mark.path()]);
        let _ = cluster
            .head()
            .1
            .ask("removing the build mark", &forget, &[])
            .await;
        return Err(
            UserError::usage(format!("the build `{build}` failed on {head} (exit {status})"))
                .hint("fix the errors above; nothing was launched")
                .into(),
        );
    }
    let shared = build::share_outputs(cluster, &root, &mark);
    let shared = ctx.cancel.guard("sharing the build's outputs", shared).await?;
    ctx.printer.info(format!(
        "the build wrote {} file(s) in {head}; shared with {} other container(s)",
        shared.written / shared.containers.max(1) as u64,
        shared.containers
    ));
    Ok(())
}
