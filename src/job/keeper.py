# swarmpi's job keeper, run in the head container by `python3 -c` (sent
# with each command, so it always matches the swarmpi that sends it).
# Each job has a directory JOBS/ID holding meta.json and its output.
#
#   start JOBS LIMIT KEEP PROGRAM RANKS -- COMMAND...
#       claims the next id, prints it, and leaves a supervisor running in a
#       session of its own (so the job outlives the SSH connection): it
#       runs COMMAND in JOBS/ID, records its stdout and stderr (at most
#       LIMIT bytes, the rest counted and dropped), then its exit status.
#       Only the KEEP newest finished jobs are kept.
#   list JOBS           prints every job's meta.json, as a JSON list
#   follow JOBS ID F    writes the job's output so far to stdout and stderr
#                       as it was printed; if F is 1, goes on until the
#                       job ends and exits with its status
#   wait JOBS ID        exits with the job's status once it ends
#   cancel JOBS ID HOSTFILE
#                       stops the job's process group (INT, KILL 3 s later),
#                       then kills any rank of it left on the hostfile's
#                       hosts (ranks carry SWARMPI_JOB=<the job's tag>)
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time

POLL = 0.05
LOST = 255
# On the servers' own network: "FIRST LAST", the ports jobs' daemons use.
JOB_PORTS = "~/.swarmpi/job-ports"


def fail(message, code=3):
    sys.stderr.write("swarmpi: %s\n" % message)
    sys.exit(code)


def read_meta(jobs, job):
    try:
        with open(os.path.join(jobs, job, "meta.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        fail("no job %s on this cluster (`swarmpi jobs` lists them)" % job, 4)


def write_meta(jobs, job, meta):
    path = os.path.join(jobs, job, "meta.json")
    with open(path + ".tmp", "w") as f:
        json.dump(meta, f)
    os.replace(path + ".tmp", path)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def state_of(meta, jobs=None):
    if jobs and os.path.exists(os.path.join(jobs, str(meta["id"]), "cancelled")):
        return dict(meta, state="cancelled")
    if "exit" in meta:
        return meta
    if not alive(meta.get("pid", 0)):
        meta = dict(meta, state="lost")
    return meta


def claim(jobs):
    os.makedirs(jobs, exist_ok=True)
    while True:
        ids = [int(n) for n in os.listdir(jobs) if n.isdigit()]
        job = str(max(ids, default=0) + 1)
        try:
            os.mkdir(os.path.join(jobs, job))
            return job
        except FileExistsError:
            continue


def prune(jobs, keep):
    """Removes all but the `keep` newest finished jobs. Another job's
    supervisor may be pruning the same ones at the same moment: what it
    removed first is simply gone."""
    finished = []
    for name in os.listdir(jobs):
        if not name.isdigit():
            continue
        try:
            with open(os.path.join(jobs, name, "meta.json")) as f:
                if "exit" in json.load(f):
                    finished.append(int(name))
        except (OSError, ValueError):
            continue
    for job in sorted(finished)[:-keep] if keep > 0 else sorted(finished):
        shutil.rmtree(os.path.join(jobs, str(job)), ignore_errors=True)


def start(jobs, limit, keep, program, ranks, _, *command):
    job = claim(jobs)
    meta = {"id": int(job), "tag": "%s-%s" % (job, os.urandom(4).hex()),
            "program": program, "ranks": int(ranks), "state": "running",
            "started": time.time(), "pid": 0, "output_bytes": 0, "dropped_bytes": 0}
    write_meta(jobs, job, meta)
    sys.stdout.write(job + "\n")
    sys.stdout.flush()
    if os.fork() > 0:
        return
    # The supervisor: a session of its own, nothing tied to the SSH channel.
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    meta["pid"] = os.getpid()
    write_meta(jobs, job, meta)
    prune(jobs, int(keep))
    supervise(jobs, job, meta, int(limit), list(command))
    os._exit(0)


def job_port(job):
    """On the servers' own network, a port for this job's daemons: Open MPI
    binds every port of the list it is given, so each job gets one of its
    own, free here (every job's mpirun runs in this container, so a port no
    mpirun holds here is held by no daemon of this cluster elsewhere).
    Jobs start their search at different ports, so two starting at once
    do not pick the same."""
    try:
        with open(os.path.expanduser(JOB_PORTS)) as f:
            first, last = (int(word) for word in f.read().split())
    except (OSError, ValueError):
        return None
    count = last - first + 1
    for i in range(count):
        port = first + (int(job) - 1 + i) % count
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.bind(("0.0.0.0", port))
            return port
        except OSError:
            continue
        finally:
            probe.close()
    return None


def supervise(jobs, job, meta, limit, command):
    # A handler, not SIG_IGN: mpirun gets its default back at exec, and the
    # supervisor lives on to record how the job ended.
    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: None)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # Every rank, on every container, carries the job's tag (mpirun exports
    # what mca_base_env_list names), so cancel can find what is left of it.
    env = dict(os.environ, SWARMPI_JOB=meta["tag"])
    exported = [v for v in env.get("OMPI_MCA_mca_base_env_list", "").split(";") if v]
    env["OMPI_MCA_mca_base_env_list"] = ";".join(exported + ["SWARMPI_JOB"])
    port = job_port(job)
    if port is not None:
        env["OMPI_MCA_oob_tcp_dynamic_ipv4_ports"] = str(port)
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, cwd=os.path.expanduser("~"), env=env)
    output = open(os.path.join(jobs, job, "output"), "ab")
    streams = selectors.DefaultSelector()
    streams.register(child.stdout, selectors.EVENT_READ, b"o")
    streams.register(child.stderr, selectors.EVENT_READ, b"e")
    last = time.time()
    while streams.get_map():
        for key, _ in streams.select():
            data = os.read(key.fileobj.fileno(), 65536)
            if not data:
                streams.unregister(key.fileobj)
                continue
            if meta["output_bytes"] + len(data) > limit:
                meta["dropped_bytes"] += len(data)
            else:
                output.write(key.data + b" %d\n" % len(data) + data)
                output.flush()
                meta["output_bytes"] += len(data)
        if time.time() - last > 1:
            write_meta(jobs, job, meta)
            last = time.time()
    status = child.wait()
    meta.update(state="exited", exit=status if status >= 0 else 128 - status, ended=time.time())
    write_meta(jobs, job, meta)


def list_jobs(jobs):
    metas = []
    if os.path.isdir(jobs):
        for name in sorted((n for n in os.listdir(jobs) if n.isdigit()), key=int):
            path = os.path.join(jobs, name, "meta.json")
            if os.path.exists(path):
                with open(path) as f:
                    metas.append(state_of(json.load(f), jobs))
    json.dump(metas, sys.stdout)


def records(path, offset):
    """Whole records from offset: [(stream, bytes)], the new offset."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    found, at = [], 0
    while True:
        newline = data.find(b"\n", at)
        if newline < 0:
            break
        kind, size = data[at:newline].split(b" ")
        end = newline + 1 + int(size)
        if end > len(data):
            break
        found.append((kind, data[newline + 1:end]))
        at = end
    return found, offset + at


def follow(jobs, job, keep_going):
    path = os.path.join(jobs, job, "output")
    meta = read_meta(jobs, job)
    offset = 0
    while True:
        found, offset = records(path, offset)
        for kind, data in found:
            stream = sys.stdout if kind == b"o" else sys.stderr
            stream.buffer.write(data)
            stream.buffer.flush()
        if found:
            continue
        if keep_going != "1":
            return
        meta = state_of(read_meta(jobs, job))
        if "exit" in meta:
            # Records written between the last read and the exit.
            if records(path, offset)[0]:
                continue
            note(meta)
            sys.exit(meta["exit"])
        if meta.get("state") == "lost":
            fail("job %s ended without saying how (its supervisor was killed)" % job, LOST)
        time.sleep(POLL)


def note(meta):
    if meta.get("dropped_bytes"):
        sys.stderr.write("swarmpi: %d bytes of output beyond the limit were not kept\n"
                         % meta["dropped_bytes"])


def wait(jobs, job):
    while True:
        meta = state_of(read_meta(jobs, job))
        if "exit" in meta:
            sys.exit(meta["exit"])
        if meta.get("state") == "lost":
            fail("job %s ended without saying how (its supervisor was killed)" % job, LOST)
        time.sleep(POLL * 4)


# Kills the processes whose environment holds SWARMPI_JOB=TAG; prints how many.
SWEEP = ('n=0; for p in /proc/[0-9]*; do '
         'if tr "\\0" "\\n" < $p/environ 2>/dev/null | grep -qx "SWARMPI_JOB=%s"; then '
         'kill -KILL ${p#/proc/} 2>/dev/null; n=$((n + 1)); fi; done; echo $n')


def sweep(hostfile, tag):
    """Kills the job's ranks left on every host, until none is found (10 s)."""
    with open(hostfile) as f:
        hosts = [line.split()[0] for line in f if line.strip() and not line.startswith("#")]
    deadline = time.time() + 10
    while True:
        runs = [subprocess.Popen(["ssh", host, SWEEP % tag], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL) for host in hosts]
        found = 0
        for run in runs:
            out = run.communicate()[0].strip()
            found += int(out) if out.isdigit() else 0
        if found == 0 or time.time() > deadline:
            return
        time.sleep(POLL * 4)


def cancel(jobs, job, hostfile):
    meta = state_of(read_meta(jobs, job))
    if "exit" in meta or meta.get("state") == "lost":
        print(json.dumps({"was_running": False}))
        return
    group = meta["pid"]
    os.killpg(group, signal.SIGINT)
    deadline = time.time() + 3
    while time.time() < deadline and "exit" not in read_meta(jobs, job):
        time.sleep(POLL)
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass
    # mpirun may end before every remote rank has.
    if meta.get("tag"):
        sweep(hostfile, meta["tag"])
    open(os.path.join(jobs, job, "cancelled"), "w").close()
    meta = read_meta(jobs, job)
    if "exit" not in meta:
        # Killed before it could say how it ended.
        write_meta(jobs, job, dict(meta, exit=137, ended=time.time()))
    print(json.dumps({"was_running": True}))


def main():
    command, args = sys.argv[1], sys.argv[2:]
    actions = {"start": start, "list": list_jobs, "follow": follow, "wait": wait, "cancel": cancel}
    if command not in actions:
        fail("unknown job command %s" % command)
    actions[command](*args)


main()
