//! What `swarmpi run` was given: a Linux x86-64 executable, a source file
//! to compile in the cluster or a Python script, and the mpirun command line
//! built from it.

use std::path::Path;

use super::layout::{HOSTFILE, RUN_DIR, pid_file};
use super::remote::Remote;
use crate::error::UserError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiler {
    C,
    Cxx,
    Fortran,
}

impl Compiler {
    pub fn command(self) -> &'static str {
        match self {
            Compiler::C => "mpicc",
            Compiler::Cxx => "mpicxx",
            Compiler::Fortran => "mpifort",
        }
    }
}

/// What a program file is, from its name: how it gets to run on a rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A Linux x86-64 executable, run as is.
    Executable,
    /// A source file, compiled in the cluster to an executable.
    Source(Compiler),
    /// A Python script, run by the image's python3 (with mpi4py).
    Python,
}

impl Kind {
    pub fn of(path: &Path) -> Kind {
        match path.extension().and_then(|e| e.to_str()) {
            Some("py") => Kind::Python,
            Some(extension) => compiler_for(extension).map_or(Kind::Executable, Kind::Source),
            None => Kind::Executable,
        }
    }

    /// The words that start the program at `path` on a rank, its output
    /// line-buffered so that whole lines stream as ranks print. A source's
    /// path is that of its compiled executable.
    pub fn launcher(self, path: &str) -> Vec<String> {
        let lead: &[&str] = match self {
            Kind::Python => &["python3", "-c", PYTHON_LINE_BUFFERED],
            Kind::Executable | Kind::Source(_) => &["stdbuf", "-oL", "-eL"],
        };
        lead.iter()
            .map(|w| w.to_string())
            .chain([path.to_string()])
            .collect()
    }
}

/// Runs the script named after `-c`'s code as `__main__`, its output
/// line-buffered: `python3 -u` would write a line's text and its newline
/// apart, and mpirun would interleave the ranks' lines mid-line.
const PYTHON_LINE_BUFFERED: &str = "import runpy, sys; \
    sys.stdout.reconfigure(line_buffering=True); sys.stderr.reconfigure(line_buffering=True); \
    sys.argv.pop(0); runpy.run_path(sys.argv[0], run_name='__main__')";

/// A source file's compiler, from its extension.
fn compiler_for(extension: &str) -> Option<Compiler> {
    match extension {
        "c" => Some(Compiler::C),
        "cpp" | "cc" | "cxx" | "C" => Some(Compiler::Cxx),
        "f90" | "f" | "f95" | "f03" | "F90" => Some(Compiler::Fortran),
        _ => None,
    }
}

/// Checks the first bytes of a file: an ELF, 64-bit, x86-64 executable.
pub fn check_linux_x86_64(name: &str, header: &[u8]) -> Result<(), UserError> {
    let fail = |why: &str| {
        UserError::usage(format!("{name} is not a Linux x86-64 executable: {why}"))
            .hint("build it for Linux x86-64, or pass the source file (.c, .cpp, .f90) and swarmpi compiles it in the cluster")
    };
    if header.len() < 20 || &header[..4] != b"\x7fELF" {
        return Err(fail("it is not an ELF file"));
    }
    if header[4] != 2 {
        return Err(fail("it is a 32-bit ELF file"));
    }
    let machine = u16::from_le_bytes([header[18], header[19]]);
    if machine != 62 {
        return Err(fail(&format!("its ELF machine is {machine}, not x86-64 (62)")));
    }
    let kind = u16::from_le_bytes([header[16], header[17]]);
    if kind != 2 && kind != 3 {
        return Err(fail("it is an object file or library, not an executable"));
    }
    Ok(())
}

/// A file name safe to put on a remote shell line and in a path.
pub fn remote_file_name(path: &Path) -> Result<String, UserError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let safe = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b));
    if !safe || name.starts_with('.') {
        return Err(
            UserError::usage(format!("the program name '{name}' is not usable in the cluster"))
                .hint("use a file name of letters, digits, '.', '_', '-' and '+'"),
        );
    }
    Ok(name.to_string())
}

/// The name of the binary a source file compiles to (its stem).
pub fn binary_name(source_name: &str) -> String {
    source_name
        .rsplit_once('.')
        .map_or(source_name, |(stem, _)| stem)
        .to_string()
}

/// How to launch the job.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    pub ranks: u32,
    /// Pass `--oversubscribe` to mpirun.
    pub oversubscribe: bool,
    pub mca: Vec<(String, String)>,
    pub export: Vec<String>,
    pub map_by: Option<String>,
    /// The ranks' working directory (mpirun's --wdir); default: the home.
    pub workdir: Option<String>,
    pub extra: Vec<String>,
}

impl Launch {
    /// The value the user gave an MCA parameter, if any.
    pub fn mca_value(&self, key: &str) -> Option<&str> {
        self.mca.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// The mpirun command line; `program` is the launcher's words (see
/// [`Kind::launcher`]).
pub fn mpirun_command(launch: &Launch, program: &[String], args: &[String]) -> Remote {
    let mut words: Vec<String> = vec!["mpirun".into(), "-n".into(), launch.ranks.to_string()];
    words.extend(["--hostfile".into(), HOSTFILE.into()]);
    if launch.oversubscribe {
        words.push("--oversubscribe".into());
    }
    for (key, value) in &launch.mca {
        words.extend(["--mca".into(), key.clone(), value.clone()]);
    }
    for var in &launch.export {
        words.extend(["-x".into(), var.clone()]);
    }
    if let Some(map_by) = &launch.map_by {
        words.extend(["--map-by".into(), map_by.clone()]);
    }
    if let Some(workdir) = &launch.workdir {
        words.extend(["--wdir".into(), workdir.clone()]);
    }
    words.extend(launch.extra.iter().cloned());
    words.extend(program.iter().cloned());
    words.extend(args.iter().cloned());
    Remote::argv(words)
}

/// `command` run from the MPI user's home so that [`stop_command`] can stop
/// it: it records its pid (sshd makes each session's command a process
/// group leader, and `exec` keeps the pid) in the run's own pid file.
pub fn stoppable(run_id: &str, command: &Remote) -> Remote {
    let pid = pid_file(run_id);
    Remote::script(
        "cd ~ && mkdir -p {} && echo $$ > {} && exec sh -c {}",
        &[RUN_DIR, &pid, command.as_str()],
    )
}

/// Interrupts the run's whole process group, kills what is left 3 s later,
/// and forgets the pid file.
pub fn stop_command(run_id: &str) -> Remote {
    let pid = pid_file(run_id);
    Remote::script(
        "p=$(cat {} 2>/dev/null) && kill -INT -- -$p 2>/dev/null && sleep 3; \
         [ -n \"$p\" ] && kill -KILL -- -$p 2>/dev/null; rm -f {}; true",
        &[&pid, &pid],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf(class: u8, kind: u16, machine: u16) -> Vec<u8> {
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = class;
        header[16..18].copy_from_slice(&kind.to_le_bytes());
        header[18..20].copy_from_slice(&machine.to_le_bytes());
        header
    }

    #[test]
    fn accepts_only_linux_x86_64_executables() {
        assert!(check_linux_x86_64("a.out", &elf(2, 2, 62)).is_ok());
        assert!(check_linux_x86_64("a.out", &elf(2, 3, 62)).is_ok());
        assert!(
            check_linux_x86_64("s.sh", b"#!/bin/sh\necho hi\n")
                .unwrap_err()
                .message
                .contains("not an ELF")
        );
        assert!(
            check_linux_x86_64("a", &elf(1, 2, 3))
                .unwrap_err()
                .message
                .contains("32-bit")
        );
        assert!(
            check_linux_x86_64("a", &elf(2, 2, 183))
                .unwrap_err()
                .message
                .contains("183")
        );
        assert!(
            check_linux_x86_64("a.o", &elf(2, 1, 62))
                .unwrap_err()
                .message
                .contains("object file")
        );
    }

    #[test]
    fn tells_programs_apart_by_name() {
        let kind = |name| Kind::of(Path::new(name));
        assert_eq!(kind("x/hello.c"), Kind::Source(Compiler::C));
        assert_eq!(kind("hello.cpp"), Kind::Source(Compiler::Cxx));
        assert_eq!(kind("hello.cc"), Kind::Source(Compiler::Cxx));
        assert_eq!(kind("hello.f90"), Kind::Source(Compiler::Fortran));
        assert_eq!(kind("sum.py"), Kind::Python);
        assert_eq!(kind("a.out"), Kind::Executable);
        assert_eq!(kind("solver"), Kind::Executable);
        assert_eq!(binary_name("hello.cpp"), "hello");
        let python = Kind::Python.launcher("/p/sum.py");
        assert_eq!(python.len(), 4);
        assert_eq!(
            [&python[0], &python[1], &python[3]],
            ["python3", "-c", "/p/sum.py"]
        );
        assert!(python[2].contains("line_buffering=True"), "{python:?}");
        assert_eq!(Kind::Executable.launcher("./a"), ["stdbuf", "-oL", "-eL", "./a"]);
    }

    #[test]
    fn quotes_and_builds_the_mpirun_line() {
        let launch = Launch {
            ranks: 8,
            oversubscribe: true,
            mca: vec![("btl".into(), "self,tcp".into())],
            export: vec!["OMP_NUM_THREADS".into()],
            map_by: Some("node".into()),
            workdir: Some("/home/mpi/projects/p".into()),
            extra: vec![],
        };
        let program = Kind::Executable.launcher("/home/mpi/.swarmpi/bin/a.out");
        let command = mpirun_command(&launch, &program, &["x y".into()]);
        let line = command.as_str();
        assert!(line.starts_with("mpirun -n 8 --hostfile"), "{line}");
        assert!(
            stoppable("r1", &command).as_str().starts_with(
                "cd ~ && mkdir -p /home/mpi/.swarmpi/runs && echo $$ > /home/mpi/.swarmpi/runs/r1.pid && exec sh -c "
            )
        );
        assert!(
            line.contains(
                "--oversubscribe --mca btl 'self,tcp' -x OMP_NUM_THREADS --map-by node --wdir /home/mpi/projects/p stdbuf -oL -eL"
            )
        );
        assert!(line.ends_with("/home/mpi/.swarmpi/bin/a.out 'x y'"));
        let stop = stop_command("r1");
        assert!(
            stop.as_str()
                .starts_with("p=$(cat /home/mpi/.swarmpi/runs/r1.pid 2>/dev/null) && kill -INT -- -$p"),
            "{stop}"
        );
    }

    #[test]
    fn refuses_unsafe_file_names() {
        assert!(remote_file_name(Path::new("dir/a.out")).is_ok());
        assert!(remote_file_name(Path::new("a b")).is_err());
        assert!(remote_file_name(Path::new(".hidden")).is_err());
    }
}
