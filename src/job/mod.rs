//! A job on a deployed cluster: compile the program on the head if it is a
//! source file, put it in every container (or run it from a synced project),
//! run mpirun from the head and stream its output; Ctrl-C stops it on every
//! container.

mod copy;
mod fit;
pub mod keeper;
pub mod project;

pub use fit::fit;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::access::OpenCluster;
use crate::cluster::digest;
use crate::cluster::layout::{BIN_DIR, SRC_DIR, pid_file};
use crate::cluster::program::{self, Compiler, Kind, Launch};
use crate::cluster::remote::{Remote, quote};
use crate::context::Context;
use crate::error::UserError;
use crate::interrupt::Cancel;

/// How long a stopped command or job may take to end (mpirun stops its
/// ranks) after Ctrl-C.
pub(crate) const STOP_WAIT: Duration = Duration::from_secs(15);
/// The largest compiled program brought back from the head.
const PROGRAM_LIMIT: usize = 512 << 20;

/// The program, read and checked on the manager before anything starts.
pub struct LocalProgram {
    bytes: Vec<u8>,
    remote_name: String,
    kind: Kind,
}

impl LocalProgram {
    /// Reads `path`: a source file to compile in the cluster, a Python
    /// script, or a Linux x86-64 executable.
    pub fn read(path: &Path) -> Result<LocalProgram> {
        use std::os::unix::fs::PermissionsExt;
        let shown = path.display().to_string();
        let metadata = std::fs::metadata(path).map_err(|e| {
            UserError::usage(format!("cannot read program {shown}: {e}"))
                .hint("give the path of a compiled MPI program or of its source file")
        })?;
        if !metadata.is_file() {
            return Err(UserError::usage(format!("program {shown} is not a file")).into());
        }
        let remote_name = program::remote_file_name(path)?;
        let kind = Kind::of(path);
        if kind == Kind::Executable && metadata.permissions().mode() & 0o111 == 0 {
            return Err(UserError::usage(format!("program {shown} is not executable"))
                .hint(format!(
                    "chmod +x {shown}, or pass a source file (.c, .cpp, .f90) to compile in the cluster"
                ))
                .into());
        }
        let bytes = std::fs::read(path).with_context(|| format!("could not read {shown}"))?;
        if kind == Kind::Executable {
            program::check_linux_x86_64(&shown, &bytes)?;
        }
        Ok(LocalProgram {
            bytes,
            remote_name,
            kind,
        })
    }

    /// A source file swarmpi itself ships (e.g. bench's ping-pong).
    pub fn shipped_source(name: &str, source: &str) -> Result<LocalProgram> {
        let remote_name = program::remote_file_name(Path::new(name))?;
        let kind = Kind::of(Path::new(name));
        anyhow::ensure!(matches!(kind, Kind::Source(_)), "{name} is not a source file");
        Ok(LocalProgram {
            bytes: source.as_bytes().to_vec(),
            remote_name,
            kind,
        })
    }
}

/// How a run ended for this terminal.
pub enum Ran {
    /// Started and left running (`--detach`): its id.
    Detached(u32),
    /// Followed to its end: mpirun's exit status.
    Exited(u32),
}

/// Puts the program in place and runs the job.
pub async fn run(
    ctx: &Context,
    cluster: &OpenCluster,
    local: &LocalProgram,
    launch: &Launch,
    args: &[String],
    detach: bool,
) -> Result<Ran> {
    let remote_path = prepare(ctx, cluster, local).await?;
    let command = program::mpirun_command(launch, &local.kind.launcher(&remote_path), args);
    let label = label(&local.remote_name, args);
    start_job(ctx, cluster, &label, launch.ranks, &command, detach).await
}

/// What `jobs` shows of a job: its program and arguments.
fn label(program: &str, args: &[String]) -> String {
    let words: Vec<String> = args.iter().map(|a| quote(a)).collect();
    [program.to_string(), words.join(" ")]
        .join(" ")
        .trim()
        .to_string()
}

/// Starts `command` as a job; follows it to its end unless `detach`.
/// Ctrl-C while following cancels it.
async fn start_job(
    ctx: &Context,
    cluster: &OpenCluster,
    label: &str,
    ranks: u32,
    command: &Remote,
    detach: bool,
) -> Result<Ran> {
    ctx.printer
        .debug(format!("on {}: {command}", cluster.head().0.hostname));
    let id = ctx
        .cancel
        .guard("starting the job", keeper::start(cluster, label, ranks, command))
        .await?;
    if detach {
        return Ok(Ran::Detached(id));
    }
    Ok(Ran::Exited(keeper::follow(ctx, cluster, id, true, true).await?))
}

/// Compiles the program if need be and puts it in every container; returns
/// its path there.
pub async fn prepare(ctx: &Context, cluster: &OpenCluster, local: &LocalProgram) -> Result<String> {
    let (binary, name) = match local.kind {
        Kind::Source(compiler) => {
            let compiled = compile(ctx, cluster, local, compiler);
            let binary = ctx.cancel.guard("compiling", compiled).await?;
            (binary, program::binary_name(&local.remote_name))
        }
        Kind::Executable | Kind::Python => (local.bytes.clone(), local.remote_name.clone()),
    };
    let remote_path = format!("{BIN_DIR}/{name}");
    let copied = copy::distribute(cluster, &binary, &remote_path, &ctx.printer);
    ctx.cancel.guard("copying the program", copied).await?;
    Ok(remote_path)
}

/// Compiles the source on the head with the cluster's own MPI wrappers;
/// returns the binary's bytes.
async fn compile(
    ctx: &Context,
    cluster: &OpenCluster,
    local: &LocalProgram,
    compiler: Compiler,
) -> Result<Vec<u8>> {
    let (head, node) = cluster.head();
    // A directory of this compile's own: two runs compiling the same file
    // at once never write over each other's source or binary.
    let dir = format!("{SRC_DIR}/{}", digest::hex(&rand::random::<[u8; 6]>()));
    let (source, binary_name) = (&local.remote_name, program::binary_name(&local.remote_name));
    let output = format!("{dir}/{binary_name}");
    // Relative names: the binary does not embed the directory, so the same
    // source always gives the same bytes (and an unchanged program is not
    // sent again).
    let command = Remote::script(
        "mkdir -p {} && cd {} && cat > {} && {} -O2 -o {} {}",
        &[&dir, &dir, source, compiler.command(), &binary_name, source],
    );
    ctx.printer.info(format!(
        "compiling {} with {} on {}",
        local.remote_name,
        compiler.command(),
        head.hostname
    ));
    // The compiler's words go to the user as they come (a big source may
    // compile for minutes without one).
    let printer = &ctx.printer;
    let compiled = node
        .stream(&command, &local.bytes, |_, bytes| {
            printer.passthrough(true, bytes)
        })
        .await;
    // Ok(Err(code)): the compiler failed with that code.
    let binary = match compiled {
        Ok(0) => {
            let read = Remote::argv(["cat", "--", &output]);
            node.ask_large("reading the compiled program", &read, PROGRAM_LIMIT)
                .await
                .map(Ok)
        }
        Ok(code) => Ok(Err(code)),
        Err(e) => Err(e),
    };
    let forget = Remote::argv(["rm", "-rf", "--", &dir]);
    let _ = node.ask("removing the compile's directory", &forget, &[]).await;
    let binary = binary?.map_err(|code| compile_failed(compiler, &local.remote_name, code))?;
    anyhow::ensure!(
        binary.code == 0,
        "could not read the compiled program on {}",
        head.hostname
    );
    Ok(binary.stdout)
}

fn compile_failed(compiler: Compiler, source: &str, code: u32) -> UserError {
    UserError::usage(format!(
        "{} failed to compile {source} (exit {code})",
        compiler.command()
    ))
    .hint("fix the errors above; nothing was launched")
}

/// Runs `command` in the head, streaming its output; returns its exit
/// status. Ctrl-C stops it (mpirun stops every rank) and leaves the cluster
/// ready. Each run has its own pid file: two at once never stop each other.
pub async fn stream(ctx: &Context, cluster: &OpenCluster, command: &Remote, doing: &str) -> Result<u32> {
    let run_id = digest::hex(&rand::random::<[u8; 4]>());
    let (_, head) = cluster.head();
    let printer = &ctx.printer;
    let line = program::stoppable(&run_id, command);
    let job = head.stream(&line, &[], |is_stderr, bytes| {
        printer.passthrough(is_stderr, bytes)
    });
    tokio::pin!(job);
    tokio::select! {
        status = &mut job => {
            let forget = Remote::argv(["rm", "-f", &pid_file(&run_id)]);
            let _ = head.ask("removing a pid file", &forget, &[]).await;
            status
        }
        () = ctx.cancel.cancelled() => {
            printer.warn(format!("interrupted: stopping what was {doing}"));
            let stop = program::stop_command(&run_id);
            let stopper = head.ask("stopping the command", &stop, &[]);
            let _ = tokio::time::timeout(STOP_WAIT, async { tokio::join!(&mut job, stopper) }).await;
            Err(Cancel::error(doing))
        }
    }
}
