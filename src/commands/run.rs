//! `swarmpi run -n N PROGRAM [ARGS...]`: put the program in every container
//! (compiling it in the cluster if it is a source file), run mpirun from the
//! head, stream its output, exit with its code.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use futures_util::future::join_all;
use sha2::{Digest, Sha256};

use crate::access::{self, OpenCluster};
use crate::cluster::members;
use crate::cluster::names::ClusterNames;
use crate::cluster::program::{self, BIN_DIR, Launch, SRC_DIR, shell_quote};
use crate::config::Settings;
use crate::error::{ExitCode, UserError};
use crate::printer::Printer;
use crate::ssh::session::Node;

/// Uploads shorter than this finish before a bar would be worth drawing.
const BAR_THRESHOLD: u64 = 4 * 1024 * 1024;

pub struct RunOptions {
    pub names: ClusterNames,
    pub launch: Launch,
    pub program: PathBuf,
    pub args: Vec<String>,
}

/// The program, read and checked on the manager before anything starts.
struct LocalProgram {
    bytes: Vec<u8>,
    remote_name: String,
    compiler: Option<program::Compiler>,
}

fn read_program(path: &PathBuf) -> Result<LocalProgram> {
    let shown = path.display().to_string();
    let metadata = std::fs::metadata(path).map_err(|e| {
        UserError::usage(format!("cannot read program {shown}: {e}"))
            .hint("give the path of a compiled MPI program or of its source file")
    })?;
    if !metadata.is_file() {
        return Err(UserError::usage(format!("program {shown} is not a file")).into());
    }
    let remote_name = program::remote_file_name(path)?;
    let bytes = std::fs::read(path).with_context(|| format!("could not read {shown}"))?;
    let compiler = program::compiler_for(path);
    if compiler.is_none() {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o111 == 0 {
            return Err(UserError::usage(format!("program {shown} is not executable"))
                .hint(format!(
                    "chmod +x {shown}, or pass a source file (.c, .cpp, .f90) to compile in the cluster"
                ))
                .into());
        }
        program::check_linux_x86_64(&shown, &bytes)?;
    }
    Ok(LocalProgram {
        bytes,
        remote_name,
        compiler,
    })
}

pub async fn run(settings: &Settings, options: RunOptions, printer: &Printer) -> Result<i32> {
    let local = read_program(&options.program)?;
    if options.launch.ranks == 0 {
        return Err(UserError::usage("-n must be at least 1").into());
    }
    let cluster = access::open_cluster(settings, &options.names).await?;
    let slots = members::total_slots(&cluster.members);
    if options.launch.ranks > slots && !options.launch.oversubscribe {
        cluster.close().await;
        return Err(UserError::usage(format!(
            "-n {} asks for more ranks than cluster {} has slots ({slots})",
            options.launch.ranks, options.names.cluster
        ))
        .hint("pass --oversubscribe to run more ranks than slots, or deploy more containers or --slots")
        .into());
    }
    let result = launch(&cluster, &local, &options, printer).await;
    cluster.close().await;
    result
}

async fn launch(
    cluster: &OpenCluster,
    local: &LocalProgram,
    options: &RunOptions,
    printer: &Printer,
) -> Result<i32> {
    let binary = match local.compiler {
        Some(compiler) => compile(cluster, local, compiler, printer).await?,
        None => local.bytes.clone(),
    };
    let name = match local.compiler {
        Some(_) => program::binary_name(&local.remote_name),
        None => local.remote_name.clone(),
    };
    let remote_path = format!("{BIN_DIR}/{name}");
    distribute(cluster, &binary, &remote_path, printer).await?;
    let line = program::mpirun_line(&options.launch, &remote_path, &options.args);
    printer.debug(format!("on {}: {line}", cluster.head().0.hostname));
    stream_job(cluster, &line, printer).await
}

/// Compiles the source on the head with the cluster's own MPI wrappers;
/// returns the binary's bytes.
async fn compile(
    cluster: &OpenCluster,
    local: &LocalProgram,
    compiler: program::Compiler,
    printer: &Printer,
) -> Result<Vec<u8>> {
    let (head, node) = cluster.head();
    let source = format!("{SRC_DIR}/{}", local.remote_name);
    let output = format!("{SRC_DIR}/{}", program::binary_name(&local.remote_name));
    let command = format!(
        "mkdir -p {SRC_DIR} && cat > {src} && {cc} -O2 -o {out} {src}",
        src = shell_quote(&source),
        cc = compiler.command(),
        out = shell_quote(&output),
    );
    printer.info(format!(
        "compiling {} with {} on {}",
        local.remote_name,
        compiler.command(),
        head.hostname
    ));
    let result = node.exec(&command, &local.bytes).await?;
    printer.passthrough(true, &result.stdout);
    printer.passthrough(true, &result.stderr);
    if result.code != 0 {
        return Err(UserError::usage(format!(
            "{} failed to compile {} (exit {})",
            compiler.command(),
            local.remote_name,
            result.code
        ))
        .hint("fix the errors above; nothing was launched")
        .into());
    }
    let binary = node.exec(&format!("cat {}", shell_quote(&output)), &[]).await?;
    anyhow::ensure!(
        binary.code == 0,
        "could not read the compiled program on {}",
        head.hostname
    );
    Ok(binary.stdout)
}

/// Puts the binary at `path` in every container: once per server from the
/// manager, then from that container to its siblings on the same server.
/// Containers that already hold the same bytes are skipped.
async fn distribute(cluster: &OpenCluster, binary: &[u8], path: &str, printer: &Printer) -> Result<()> {
    let digest: String = Sha256::digest(binary)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let have = join_all(cluster.nodes.iter().map(|node| has_copy(node, path, &digest))).await;
    let mut by_server: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, member) in cluster.members.iter().enumerate() {
        if !have[index] {
            by_server.entry(member.server.as_str()).or_default().push(index);
        }
    }
    if by_server.is_empty() {
        printer.info(format!("{path} is unchanged in every container: not sent again"));
        return Ok(());
    }
    let total = binary.len() as u64 * by_server.len() as u64;
    let bar = (total > BAR_THRESHOLD).then(|| printer.byte_bar(total, "copying program"));
    let install = install_command(path, &digest);
    let copies = by_server.values().map(|indexes| {
        let bar = bar.clone();
        let install = install.clone();
        async move {
            let leader = &cluster.nodes[indexes[0]];
            let output = leader
                .exec_upload(&install, binary, |n| {
                    if let Some(bar) = &bar {
                        bar.inc(n);
                    }
                })
                .await?;
            check_copy(&output, &leader.name)?;
            let fan_out = indexes[1..].iter().map(|&i| {
                let sibling = &cluster.members[i];
                let command = format!(
                    "ssh {} {} < {}",
                    sibling.hostname,
                    shell_quote(&install),
                    shell_quote(path)
                );
                async move {
                    let output = leader.exec(&command, &[]).await?;
                    check_copy(&output, &sibling.hostname)
                }
            });
            join_all(fan_out).await.into_iter().collect::<Result<()>>()
        }
    });
    let results = join_all(copies).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    results.into_iter().collect::<Result<()>>()?;
    printer.info(format!(
        "copied {} ({} bytes) to {} container(s); {} bytes left the manager",
        path,
        binary.len(),
        by_server.values().map(Vec::len).sum::<usize>(),
        total
    ));
    Ok(())
}

/// Writes stdin to `path` atomically, verifies its checksum, keeps it executable.
fn install_command(path: &str, digest: &str) -> String {
    let tmp = format!("{path}.part");
    format!(
        "mkdir -p {BIN_DIR} && cat > {tmp} && echo '{digest}  {tmp}' | sha256sum -c --quiet - && chmod 755 {tmp} && mv -f {tmp} {path}",
        tmp = shell_quote(&tmp),
        path = shell_quote(path)
    )
}

fn check_copy(output: &crate::ssh::session::Output, container: &str) -> Result<()> {
    if output.code != 0 {
        anyhow::bail!(
            "the program did not arrive intact on {container}: {}",
            output.stderr_text().trim()
        );
    }
    Ok(())
}

async fn has_copy(node: &Node, path: &str, digest: &str) -> bool {
    let command = format!("test -x {p} && sha256sum {p}", p = shell_quote(path));
    match node.exec(&command, &[]).await {
        Ok(output) => output.code == 0 && output.stdout_text().starts_with(digest),
        Err(_) => false,
    }
}

/// Runs the job on the head, streaming its output; Ctrl-C interrupts mpirun
/// (which stops every rank) and leaves the cluster ready for the next run.
async fn stream_job(cluster: &OpenCluster, line: &str, printer: &Printer) -> Result<i32> {
    let (_, head) = cluster.head();
    let job = head.exec_with(line, &[], |is_stderr, bytes| {
        printer.passthrough(is_stderr, bytes)
    });
    tokio::pin!(job);
    tokio::select! {
        code = &mut job => Ok(i32::try_from(code?).unwrap_or(1)),
        _ = tokio::signal::ctrl_c() => {
            printer.warn("interrupted: stopping the job on every container");
            let stop = format!("kill -INT $(cat {pid}) 2>/dev/null; sleep 3; kill -KILL $(cat {pid}) 2>/dev/null; true", pid = program::PID_FILE);
            let stopper = head.exec(&stop, &[]);
            let _ = tokio::time::timeout(std::time::Duration::from_secs(15), async {
                tokio::join!(&mut job, stopper)
            })
            .await;
            Err(UserError::new(ExitCode::Interrupted, "the job was interrupted").into())
        }
    }
}
