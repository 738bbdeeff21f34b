"""Backup and restore of the whole server: one file with the database (pg_dump's custom
format), the server's secrets (SECRET_KEY, the product CA's key encryption key and the
Browser Certificate), encrypted with a passphrase the operator chooses, and a manifest
(version, schema, Host Common Name, checksums).

A restore checks everything it can before it changes anything (format, version and schema,
checksums, passphrase), loads the database into a new database in one transaction, and only
then swaps the two databases' names in one transaction: an interrupted restore leaves the
server as it was. The database it replaced is kept, renamed `<name>_before_restore`.
"""

import base64
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import secrets
import socket
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from core.choices import EventCategory, EventResult
from core.context_processors import product_version
from core.services import record_event
from highavailability import cluster, formation, sharedstate, transitions
from highavailability.services import running_operation
from security.services import host_common_name

Say = Callable[[str], None]

FORMAT = "ssm-onprem-backup/1"
MANIFEST, SECRETS, DATABASE = "manifest.json", "secrets.enc", "database.dump"
MIN_PASSPHRASE = 12
PG_BIN = Path("/usr/lib/postgresql/15/bin")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


# --- the pieces ------------------------------------------------------------------------------


def _key(passphrase: str, salt: bytes) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1)
    return base64.urlsafe_b64encode(kdf.derive(passphrase.encode()))


def _check_passphrase(passphrase: str) -> None:
    if len(passphrase or "") < MIN_PASSPHRASE:
        raise BackupError(f"The passphrase must be at least {MIN_PASSPHRASE} characters long.")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _database() -> dict:
    db = settings.DATABASES["default"]
    return {
        "name": db["NAME"],
        "user": db["USER"],
        "password": db.get("PASSWORD") or "",
        "host": db.get("HOST") or "127.0.0.1",
        "port": str(db.get("PORT") or 5432),
    }


def _pg_env(db: dict) -> dict:
    env = dict(os.environ)
    env.update(PGHOST=db["host"], PGPORT=db["port"], PGUSER=db["user"], PGPASSWORD=db["password"])
    env.update(PGCONNECT_TIMEOUT="10", PGAPPNAME="ssm-backup")
    return env


def _pg_tool(name: str) -> str:
    local = PG_BIN / name
    return str(local) if local.exists() else name


def _run(args: list[str], db: dict, what: str) -> None:
    done = subprocess.run(args, env=_pg_env(db), capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else done.returncode}")


def schema() -> list[str]:
    """The migrations this code base ends with, one per app ("app.0006_name")."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return sorted(f"{app}.{name}" for app, name in loader.graph.leaf_nodes())


def _applied_schema() -> list[str]:
    """The latest applied migration of each app in the database."""
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connections["default"]).applied_migrations():
        latest[app] = max(latest.get(app, name), name)
    return sorted(f"{app}.{name}" for app, name in latest.items())


# --- backup ------------------------------------------------------------------------------------


def backup(destination: Path, passphrase: str, *, say: Say = lambda _: None, user=None) -> dict:
    """Write the server's backup to `destination` (mode 0600); returns its manifest."""
    _check_passphrase(passphrase)
    db = _database()
    destination = Path(destination)
    with tempfile.TemporaryDirectory(prefix="ssm-backup-") as work:
        dump = Path(work) / DATABASE
        say("Dumping the database (pg_dump, custom format) …")
        _run(
            [
                _pg_tool("pg_dump"),
                "-Fc",
                "--no-owner",
                "--no-privileges",
                "-f",
                str(dump),
                "-d",
                db["name"],
            ],  # fmt: skip
            db,
            "pg_dump",
        )
        say(f"Database dumped: {dump.stat().st_size / 1e6:.1f} MB")
        salt = secrets.token_bytes(16)
        state = json.dumps(formation.shared_state()).encode()  # what both HA nodes share
        sealed = Fernet(_key(passphrase, salt)).encrypt(state)
        say("Secrets encrypted with the passphrase")
        manifest = {
            "format": FORMAT,
            "version": product_version(),
            "schema": _applied_schema(),
            "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "host_common_name": host_common_name(),
            "kdf": {"name": "scrypt", "n": 2**15, "r": 8, "p": 1, "salt": salt.hex()},
            "sha256": {DATABASE: _sha256(dump), SECRETS: hashlib.sha256(sealed).hexdigest()},
        }
        partial = destination.with_name(destination.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            _add(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
            _add(tar, SECRETS, sealed)
            tar.add(dump, arcname=DATABASE, filter=_private)
        partial.replace(destination)
    record_event(
        EventCategory.SYSTEM,
        "backup_created",
        f"Backup created ({destination.name}, version {manifest['version']}, Host Common Name "
        f"{manifest['host_common_name']})",
        user=user,
    )
    say(f"Backup written to {destination}")
    return manifest


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(dt.datetime.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


# --- restore -----------------------------------------------------------------------------------


def read_backup(path: Path, passphrase: str, work: Path) -> tuple[dict, dict, Path]:
    """Check a backup file without changing anything: its manifest, version and schema,
    checksums and passphrase. Returns (manifest, secrets, path of the extracted dump)."""
    dump = work / DATABASE
    try:
        with tarfile.open(path, mode="r:") as tar:
            manifest, sealed = _members(tar, path, dump)
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{path} is not a backup file of this server ({exc}).") from None
    sums = manifest.get("sha256") if isinstance(manifest.get("sha256"), dict) else {}
    if hashlib.sha256(sealed).hexdigest() != sums.get(SECRETS) or _sha256(dump) != sums.get(
        DATABASE
    ):
        raise BackupError(f"{path} is damaged: its checksums do not match. Use another copy.")
    try:
        salt = bytes.fromhex(manifest["kdf"]["salt"])
        secrets_ = json.loads(Fernet(_key(passphrase, salt)).decrypt(sealed))
    except (InvalidToken, KeyError, ValueError):
        raise BackupError(
            "Wrong passphrase: this backup's secrets cannot be opened with it."
        ) from None
    return manifest, secrets_, dump


def _members(tar: tarfile.TarFile, path: Path, dump: Path) -> tuple[dict, bytes]:
    """The manifest (checked against this server) and the sealed secrets; the dump to `dump`."""
    if not {MANIFEST, SECRETS, DATABASE} <= set(tar.getnames()):
        raise BackupError(f"{path} is not a backup file of this server.")
    try:
        manifest = json.loads(tar.extractfile(MANIFEST).read())
    except ValueError:
        raise BackupError(f"{path}: its manifest is unreadable.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a backup file of this server.")
    if manifest.get("version") != product_version() or manifest.get("schema") != schema():
        raise BackupError(
            f"This backup is of version {manifest.get('version')} (schema "
            f"{', '.join(manifest.get('schema') or [])}); this server runs version "
            f"{product_version()} (schema {', '.join(schema())}). Restore it on a server of "
            "the same version."
        )
    sealed = tar.extractfile(SECRETS).read()
    with dump.open("wb") as out:
        member = tar.extractfile(DATABASE)
        for chunk in iter(lambda: member.read(1 << 20), b""):
            out.write(chunk)
    return manifest, sealed


def _maintenance(db: dict) -> psycopg.Connection:
    return psycopg.connect(
        host=db["host"], port=db["port"], user=db["user"], password=db["password"],
        dbname="postgres", autocommit=True, connect_timeout=10, application_name="ssm-restore",
    )  # fmt: skip


def _load(db: dict, dump: Path, target: str, say: Say) -> None:
    """The dump into a new database `target`, in one transaction (all of it or nothing)."""
    with _maintenance(db) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f"CREATE DATABASE \"{target}\" TEMPLATE template0 ENCODING 'UTF8'")
    say(f"Loading the backup into a new database {target} (pg_restore, one transaction) …")
    try:
        _run(
            [
                _pg_tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                "-d",
                target,
                str(dump),
            ],  # fmt: skip
            db,
            "pg_restore",
        )
    except BackupError:
        with _maintenance(db) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        raise


def _swap(db: dict, restored: str, say: Say) -> str:
    """Put the restored database in place of the current one: no new connections to the
    current one, end those it has, then both renames in one transaction. Returns the name the
    replaced database keeps."""
    current, before = db["name"], f"{db['name']}_before_restore"
    with _maintenance(db) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{before}" WITH (FORCE)')
        conn.execute(f'ALTER DATABASE "{current}" ALLOW_CONNECTIONS false')
        try:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [current],
            )
            with conn.transaction():
                conn.execute(f'ALTER DATABASE "{current}" RENAME TO "{before}"')
                conn.execute(f'ALTER DATABASE "{restored}" RENAME TO "{current}"')
        finally:
            names = conn.execute(
                "SELECT datname FROM pg_database WHERE datname IN (%s, %s)", [current, before]
            ).fetchall()
            for (name,) in names:
                conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    say(f"The restored database is now {current}; the one it replaced is kept as {before}")
    return before


def _cluster_refusal() -> str:
    """Why a restore cannot run on this cluster member now ("" when it can): it runs on the
    active node, with no HA operation under way."""
    try:
        state = cluster.cluster_state()
    except cluster.ClusterError as exc:
        return str(exc)
    me = socket.gethostname()
    if state.promoted != me:
        return (
            f"This node ({me}) is not the active server ({state.promoted or 'none'}): "
            "restore on the active server."
        )
    running = running_operation()
    if running:
        return f"{running} is running: wait until it ends."
    return ""


def restore(path: Path, passphrase: str, *, say: Say = lambda _: None) -> dict:
    """Restore the server from a backup file; returns its manifest.

    Stand-alone, the server's processes must be restarted afterwards (they hold the secrets
    they started with). On a cluster (run on the active node) the database reaches the
    standby through replication; the application stops on both nodes for the swap, the
    secrets are published for the other node (highavailability.sharedstate), and the
    application starts again, each node with the backup's secrets."""
    ha = cluster.ha_enabled()
    if ha and (why := _cluster_refusal()):
        raise BackupError(why)
    db = _database()
    with tempfile.TemporaryDirectory(prefix="ssm-restore-") as work:
        say(f"Checking {path} …")
        manifest, state, dump = read_backup(Path(path), passphrase, Path(work))
        say(
            f"Backup of {manifest['created']}, version {manifest['version']}, Host Common Name "
            f"{manifest['host_common_name']}: checksums and passphrase good"
        )
        restored = f"{db['name']}_restoring"
        _load(db, dump, restored, say)
        pause = (
            transitions.application_stopped(say, settings.HA_DEPLOY_TIMEOUT)
            if ha
            else contextlib.nullcontext()
        )
        with pause:
            connections["default"].close()
            before = _swap(db, restored, say)
            formation.adopt_shared_state(state, lambda _: None)
            say("Secrets and Browser Certificate of the backup written")
            if ha:
                sharedstate.publish(state)
                say("Secrets and Browser Certificate published for the other node")
            record_event(
                EventCategory.SYSTEM,
                "backup_restored",
                f"Backup of {manifest['created']} restored (version {manifest['version']}, "
                f"Host Common Name {manifest['host_common_name']}); the previous database is "
                f"kept as {before}",
                result=EventResult.SUCCESS,
            )
    return manifest
