# swarmpi's file helper, run in a container by `python3 -c` (sent with each
# command, so it always matches the swarmpi that sends it).
#
#   query ROOT STATE   stdin: JSON list of paths under ROOT; prints JSON
#                      {"exists": bool, "files": {path: [sha256, mode]},
#                      "synced": [...]}
#   apply ROOT STATE   stdin: a tar of "meta.json" then "f/<path>" entries;
#                      puts each file in place (temporary name, checked,
#                      renamed), leaves identical files untouched (their
#                      mtimes matter to make), creates "dirs"; if "synced"
#                      is a list, deletes what the last sync put there and
#                      the manager no longer has, and records the list in
#                      STATE ("-": no state)
#   put DEST           stdin: as for apply, entries under one top name: puts
#                      them into DEST if it is a directory or ends with '/',
#                      else at DEST itself, as docker cp does
#   pack ROOT MARK     prints a tar (as apply reads) of the files under ROOT
#                      changed since the file MARK was touched
import hashlib
import json
import os
import sys
import tarfile
import tempfile


def fail(message):
    sys.stderr.write("swarmpi: %s\n" % message)
    sys.exit(3)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inside(root, rel):
    """The path of rel under root; refuses anything that escapes it."""
    path = os.path.normpath(os.path.join(root, rel))
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.dirname(path))
    if os.path.isabs(rel) or not (real == real_root or real.startswith(real_root + os.sep)):
        fail("refusing a path outside %s: %s" % (root, rel))
    return path


def read_state(state):
    if state == "-":
        return []
    try:
        with open(state) as f:
            return json.load(f)
    except FileNotFoundError:
        return []


def write_state(state, synced):
    os.makedirs(os.path.dirname(state), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(state), prefix=".swarmpi-")
    with os.fdopen(fd, "w") as f:
        json.dump(synced, f)
    os.replace(tmp, state)


def query(root, state):
    files = {}
    for rel in json.load(sys.stdin):
        path = os.path.join(root, rel)
        if os.path.isfile(path) and not os.path.islink(path):
            files[rel] = [sha256(path), os.stat(path).st_mode & 0o777]
    json.dump({"exists": os.path.isdir(root), "files": files, "synced": read_state(state)}, sys.stdout)


def install(member, source, path, want):
    """Writes one file through a temporary name; False if it was already there."""
    sha, mode = want
    if os.path.isfile(path) and not os.path.islink(path) and sha256(path) == sha:
        os.chmod(path, mode)
        return False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".swarmpi-")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as f:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
                f.write(block)
        if digest.hexdigest() != sha:
            fail("%s did not arrive intact" % member)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def delete(root, rel, keep):
    path = inside(root, rel.rstrip("/"))
    if rel.endswith("/"):
        if os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)
    elif os.path.isfile(path) or os.path.islink(path):
        os.unlink(path)
    parent = os.path.dirname(path)
    # Directories the manager no longer has go when a deletion empties them.
    while parent != os.path.normpath(root) and parent not in keep and not os.listdir(parent):
        os.rmdir(parent)
        parent = os.path.dirname(parent)


def unpack(root, rename=None):
    """Applies the tar on stdin under root; returns (meta, files written)."""
    archive = tarfile.open(fileobj=sys.stdin.buffer, mode="r|")
    meta, written = None, 0
    for member in archive:
        if member.name == "meta.json":
            meta = json.load(archive.extractfile(member))
            for rel in meta.get("dirs", []):
                os.makedirs(inside(root, renamed(rel, rename)), exist_ok=True)
            continue
        rel = member.name[2:]
        if meta is None or not member.isfile() or rel not in meta["files"]:
            fail("unexpected entry %s" % member.name)
        path = inside(root, renamed(rel, rename))
        written += install(rel, archive.extractfile(member), path, meta["files"][rel])
    if meta is None:
        fail("no meta.json in the archive")
    return meta, written


def renamed(rel, rename):
    if rename is None:
        return rel
    top, _, rest = rel.partition("/")
    return os.path.join(rename, rest) if rest else rename


def apply(root, state):
    os.makedirs(root, exist_ok=True)
    meta, written = unpack(root)
    synced = meta.get("synced")
    deleted = 0
    if synced is not None:
        keep = set(synced)
        dirs = {os.path.normpath(os.path.join(root, d.rstrip("/"))) for d in keep if d.endswith("/")}
        for rel in sorted(set(read_state(state)) - keep, reverse=True):
            delete(root, rel, dirs)
            deleted += 1
        if state != "-":
            write_state(state, synced)
    print(json.dumps({"written": written, "deleted": deleted}))


def put(dest):
    into = dest.endswith("/") or os.path.isdir(dest)
    root = dest if into else (os.path.dirname(dest) or ".")
    if not os.path.isdir(root):
        if not into:
            fail("no directory %s to put %s in" % (root, os.path.basename(dest)))
        os.makedirs(root)
    _, written = unpack(root, None if into else os.path.basename(dest))
    print(json.dumps({"written": written, "deleted": 0}))


def pack(root, mark):
    since = os.stat(mark).st_mtime_ns
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if not os.path.islink(path) and os.stat(path).st_mtime_ns > since:
                files[os.path.relpath(path, root)] = path
    meta = {"files": {rel: [sha256(p), os.stat(p).st_mode & 0o777] for rel, p in files.items()}}
    with tarfile.open(fileobj=sys.stdout.buffer, mode="w|") as archive:
        blob = json.dumps(meta).encode()
        info = tarfile.TarInfo("meta.json")
        info.size = len(blob)
        archive.addfile(info, fileobj=__import__("io").BytesIO(blob))
        for rel, path in sorted(files.items()):
            archive.add(path, arcname="f/" + rel, recursive=False)


def main():
    os.umask(0o022)
    command, args = sys.argv[1], sys.argv[2:]
    actions = {"query": query, "apply": apply, "put": put, "pack": pack}
    if command not in actions:
        fail("unknown helper command %s" % command)
    actions[command](*args)


main()
