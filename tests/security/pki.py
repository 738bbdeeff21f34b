"""A small test certificate authority, and openssl checks of what the server writes."""

import datetime as dt
import ipaddress
import subprocess
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(cn):
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Test CA"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def pem(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class TestCA:
    """A root CA and an intermediate CA that signs leaf certificates from CSRs."""

    def __init__(self, name="Example Root CA"):
        now = dt.datetime.now(dt.UTC)
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = self._ca(_name(name), self.root_key, _name(name), self.root_key, now)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.intermediate = self._ca(
            _name(f"{name} Intermediate"), self.key, self.root.subject, self.root_key, now
        )

    @staticmethod
    def _ca(subject, key, issuer, issuer_key, now):
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False), True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
            )
            .sign(issuer_key, hashes.SHA256())
        )

    def sign(self, csr_pem: str, *, days=365, start=None):
        """A server certificate for the CSR's subject and subject alternative names."""
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        start = start or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.intermediate.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .add_extension(sans, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, True, False, False, False, False, False, False), True
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
            .sign(self.key, hashes.SHA256())
        )

    @property
    def chain_pem(self) -> str:
        return pem(self.intermediate) + pem(self.root)


def openssl(*args, stdin: bytes | None = None) -> str:
    """Run openssl; its output, or AssertionError with its complaint."""
    done = subprocess.run(["openssl", *args], input=stdin, capture_output=True, timeout=30)
    if done.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)}: {done.stderr.decode()}")
    return done.stdout.decode()


def openssl_verify(leaf_pem: str, chain_pem: str, root_pem: str) -> str:
    """`openssl verify` of a leaf through its untrusted chain to the root."""
    with tempfile.TemporaryDirectory() as tmp:
        root, chain, leaf = Path(tmp, "root.pem"), Path(tmp, "chain.pem"), Path(tmp, "leaf.pem")
        root.write_text(root_pem)
        chain.write_text(chain_pem or root_pem)
        leaf.write_text(leaf_pem)
        return openssl("verify", "-CAfile", str(root), "-untrusted", str(chain), str(leaf))


def write_localhost_server(folder: Path, ca_name: str) -> str:
    """A test CA's certificate for a server on loopback (localhost and 127.0.0.1), written
    into `folder` as ca.crt, server.crt (with the intermediate) and server.key; the CA's PEM."""
    ca = TestCA(ca_name)
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate = ca.sign(csr.public_bytes(serialization.Encoding.PEM).decode())
    (folder / "ca.crt").write_text(pem(ca.root))
    (folder / "server.crt").write_text(pem(certificate) + pem(ca.intermediate))
    (folder / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pem(ca.root)
