"""A real OpenLDAP server (Debian's slapd) for the directory log-in tests: its own cn=config
in a temporary folder, plain LDAP and LDAPS on free loopback ports, a test CA for TLS, and a
small directory (people and groups under dc=example,dc=org)."""

import base64
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.security.pki import write_localhost_server
from tests.support.ports import free_port

SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret-ldap"
BIND_DN = f"cn=ssm-reader,ou=services,{SUFFIX}"
BIND_PASSWORD = "reader-secret-ldap"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
PEOPLE = {  # uid: (password, groups)
    "admin": ("Directory-Takeover-Pass", ["ssm-admins"]),  # the same name as a local user
    "dana": ("Dana-Directory-Pass-1", ["ssm-admins"]),
    "erin": ("Erin-Directory-Pass-2", ["plant-operators"]),
    "frank": ("Frank-Directory-Pass-3", []),
}
GROUPS = ("ssm-admins", "plant-operators")


def _ssha(password: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def group_dn(name: str) -> str:
    return f"cn={name},ou=groups,{SUFFIX}"


class Slapd:
    """start() / stop(); `url` (ldap://), `ldaps_url`, `ca_pem` (the CA that signed its
    certificate, for 127.0.0.1 and localhost)."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="ssm-slapd-"))
        self.port, self.tls_port = free_port(), free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.ldaps_url = f"ldaps://127.0.0.1:{self.tls_port}"
        self.process = None
        self.ca_pem = write_localhost_server(self.folder, "Directory Test CA")

    def _config(self) -> str:
        includes = "".join(f"include: file:///etc/ldap/schema/{name}.ldif\n" for name in SCHEMAS)
        return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {self.folder}/slapd.pid
olcTLSCACertificateFile: {self.folder}/ca.crt
olcTLSCertificateFile: {self.folder}/server.crt
olcTLSCertificateKeyFile: {self.folder}/server.key

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{includes}
dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {self.folder}/data
olcSuffix: {SUFFIX}
olcRootDN: {ADMIN_DN}
olcRootPW: {_ssha(ADMIN_PASSWORD)}
olcDbMaxSize: 104857600
olcAccess: to attrs=userPassword by self write by anonymous auth by * none
olcAccess: to * by dn.exact="{BIND_DN}" read by self read by * none
"""

    def _data(self) -> str:
        entries = [
            f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\n"
            "dc: example\n",
            f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n",
            f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n",
            f"dn: ou=services,{SUFFIX}\nobjectClass: organizationalUnit\nou: services\n",
            f"dn: {BIND_DN}\nobjectClass: inetOrgPerson\ncn: ssm-reader\nsn: reader\n"
            f"userPassword: {_ssha(BIND_PASSWORD)}\n",
        ]
        for uid, (password, _) in PEOPLE.items():
            entries.append(
                f"dn: uid={uid},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
                f"cn: {uid.title()} Directory\nsn: Directory\ngivenName: {uid.title()}\n"
                f"mail: {uid}@example.org\nuserPassword: {_ssha(password)}\n"
            )
        for group in GROUPS:
            members = [u for u, (_, groups) in PEOPLE.items() if group in groups] or ["nobody"]
            lines = "".join(f"member: uid={m},ou=people,{SUFFIX}\n" for m in members)
            entries.append(
                f"dn: {group_dn(group)}\nobjectClass: groupOfNames\ncn: {group}\n{lines}"
            )
        return "\n".join(entries)

    def start(self, deadline: float = 20.0) -> "Slapd":
        """Create the directory (first time) and start the server; returns once it answers."""
        if not (self.folder / "slapd.d").exists():
            (self.folder / "slapd.d").mkdir()
            (self.folder / "data").mkdir()
            (self.folder / "config.ldif").write_text(self._config())
            (self.folder / "data.ldif").write_text(self._data())
            for n, ldif in (("-n0", "config.ldif"), ("-n1", "data.ldif")):
                subprocess.run(
                    ["slapadd", "-q", n, "-F", str(self.folder / "slapd.d"),
                     "-l", str(self.folder / ldif)],
                    check=True, capture_output=True,
                )  # fmt: skip
        self.process = subprocess.Popen(
            ["slapd", "-d", "0", "-F", str(self.folder / "slapd.d"),
             "-h", f"ldap://127.0.0.1:{self.port}/ ldaps://127.0.0.1:{self.tls_port}/"],
            stdout=subprocess.DEVNULL, stderr=(self.folder / "slapd.log").open("wb"),
        )  # fmt: skip
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited: {(self.folder / 'slapd.log').read_text()}")
            probe = subprocess.run(
                ["ldapsearch", "-x", "-H", self.url, "-D", BIND_DN, "-w", BIND_PASSWORD,
                 "-b", SUFFIX, "-s", "base", "dn"],
                capture_output=True,
            )  # fmt: skip
            if probe.returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError("slapd did not answer in time")

    def modify(self, ldif: str) -> None:
        """Change the directory as its administrator (ldapmodify)."""
        subprocess.run(
            ["ldapmodify", "-x", "-H", self.url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD],
            input=ldif.encode(), check=True, capture_output=True,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server (its data stays until cleanup())."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
