"""Products that talk to a Transport Gateway: register, authorize, report usage, renew,
deregister. Used by the device_simulator command, the benchmark and the tests.

A Device keeps its own key; every certificate it receives is checked against the CA chain
the server returned (and, when given, a trusted CA certificate).
"""

import json
import secrets
import time
from dataclasses import dataclass, field

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import pki
from .envelope import rum_signed_bytes

GATEWAY_PATH = "/Transportgateway/services/DeviceRequestHandler"
SMART_TRANSPORT_PATH = "/SmartTransport"

NAMED_DEVICES = {
    "pi37": {
        "pid": "PI-SOFTWARE",
        "product_type": "SDNMGMT",
        "version": "3.10.4",
        "entitlements": [
            ("regid.2017-03.com.cisco.PI_BASE,3.0", 1),
            ("regid.2017-03.com.cisco.PI_LIFECYCLE,3.0", 1),
        ],
    },
    "cucm-pub-30": {
        "pid": "UCM",
        "product_type": "UCL",
        "version": "14.0.1.13900-155",
        "entitlements": [
            ("regid.2016-07.com.cisco.UCM_Basic,14.0", 10),
            ("regid.2016-07.com.cisco.UCM_Enhanced,14.0", 5),
        ],
    },
}


class GatewayRefused(Exception):
    """The server answered with an error (or the answer failed verification)."""

    def __init__(self, status: int, body):
        self.status = status
        self.body = body
        code = body.get("error", {}).get("code") if isinstance(body, dict) else ""
        super().__init__(f"HTTP {status} {code}: {body}")


@dataclass
class Device:
    """One simulated product instance."""

    sn: str
    pid: str = "PI-SOFTWARE"
    product_type: str = "SDNMGMT"
    version: str = "1.0"
    hostname: str = ""
    entitlements: list = field(default_factory=list)
    key: object = None
    instance: str | None = None
    certificate: x509.Certificate | None = None
    chain: list = field(default_factory=list)
    pending_key: object = None  # the new key of a renewal whose answer has not arrived

    @classmethod
    def named(cls, name: str) -> "Device":
        spec = NAMED_DEVICES[name]
        return cls(
            sn=name,
            pid=spec["pid"],
            product_type=spec["product_type"],
            version=spec["version"],
            hostname=name,
            entitlements=list(spec["entitlements"]),
        )

    @classmethod
    def synthetic(cls, index: int, prefix: str = "sim") -> "Device":
        return cls(
            sn=f"{prefix}{index:06d}",
            pid="PI-SOFTWARE",
            product_type="SDNMGMT",
            version="3.10.4",
            hostname=f"{prefix}-{index}",
            entitlements=[("regid.2017-03.com.cisco.PI_BASE,3.0", 1)],
        )

    @property
    def name(self) -> str:
        return f"UDI_PID:{self.pid}; UDI_SN:{self.sn}"

    # -- messages ---------------------------------------------------------

    def _message(self, kind: str, **fields) -> dict:
        message = {"type": kind, "timestamp": int(time.time()), "nonce": secrets.token_hex(16)}
        if self.instance:
            message["instance"] = self.instance
        message.update(fields)
        return message

    def envelope(self, message: dict, *, sign: bool = True) -> bytes:
        text = json.dumps(message, separators=(",", ":"))
        envelope = {"message": text}
        if sign:
            envelope["signature"] = pki.sign(self.key, text.encode())
        return json.dumps(envelope).encode()

    def register_envelope(self, token: str, *, force: bool = False) -> bytes:
        self.key = ec.generate_private_key(ec.SECP256R1())
        message = self._message(
            "register",
            token=token,
            udi={"pid": self.pid, "sn": self.sn},
            hostname=self.hostname or self.sn,
            productType=self.product_type,
            softwareVersion=self.version,
            csr=pki.csr_for(self.key, self.sn),
        )
        if force:
            message["force"] = True
        message.pop("instance", None)
        return self.envelope(message, sign=False)

    def rum_report(self, report_id, tag: str, count: int, *, sign: bool = True) -> dict:
        """A Smart Licensing Using Policy RUM report of this product's usage of one license,
        signed with its ID key (as the CSLU URL requires unless the account allows unsigned)."""
        report = {
            "report_id": report_id,
            "metadata": {"entitlement_tag": tag, "udi": {"pid": self.pid, "sn": self.sn}},
            "meas_report": [{"meas_name": "ENTITLEMENT", "meas": [{"value": {"value": count}}]}],
        }
        if sign:
            report["signature"] = {"value": pki.sign(self.key, rum_signed_bytes(report))}
        return report

    def accept_certificate(self, body: dict, trusted_ca: x509.Certificate | None = None):
        """Check the returned ID certificate against the returned chain (and trusted CA)."""
        cert = x509.load_pem_x509_certificate(body["certificate"].encode())
        chain = [x509.load_pem_x509_certificate(p.encode()) for p in body["chain"]]
        if trusted_ca is not None and trusted_ca not in chain:
            raise pki.CertificateError("the chain does not end at the trusted CA")
        pki.verify_chain(cert, chain)

        def spki(k):
            return k.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )

        if spki(cert.public_key()) != spki(self.key.public_key()):
            raise pki.CertificateError("the certificate is not for this device's key")
        self.certificate, self.chain = cert, chain
        return cert


class Client:
    """Sends envelopes to a server over HTTP(S) with requests (or any callable transport)."""

    def __init__(
        self,
        base_url: str = "",
        *,
        transport=None,
        verify=False,
        timeout=10.0,
        path: str = GATEWAY_PATH,
        trusted_ca: x509.Certificate | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.path = path
        self.trusted_ca = trusted_ca
        session = None
        if transport is None:
            session = requests.Session()
            # REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE would override a session-level verify.
            session.trust_env = False
            session.verify = verify

            def transport(path, body):
                response = session.post(
                    self.base_url + path,
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=timeout,
                )
                try:
                    data = response.json()
                except ValueError:
                    data = {"raw": response.text[:200]}
                return response.status_code, data

        self.transport = transport
        self._session = session

    def close(self):
        """Close the HTTP connections (keep-alive) of this client."""
        if self._session is not None:
            self._session.close()

    def send(self, body: bytes) -> dict:
        status, data = self.transport(self.path, body)
        if status != 200 or not isinstance(data, dict) or data.get("status") != "SUCCESS":
            raise GatewayRefused(status, data)
        return data

    def register(self, device: Device, token: str, *, force: bool = False) -> dict:
        data = self.send(device.register_envelope(token, force=force))
        device.instance = data["instance"]
        device.accept_certificate(data, self.trusted_ca)
        return data

    def renew(self, device: Device) -> dict:
        """Renew the ID certificate for a new key, signing with the current one.

        If an earlier renewal reached the server but its answer was lost (a failover), the
        server already holds the certificate of the pending key: the retry is then signed
        with that key.
        """
        if device.pending_key is None:
            device.pending_key = ec.generate_private_key(ec.SECP256R1())
        new_key = device.pending_key
        csr = pki.csr_for(new_key, device.sn)
        try:
            data = self.send(device.envelope(device._message("renew", csr=csr)))
        except GatewayRefused as exc:
            code = exc.body.get("error", {}).get("code") if isinstance(exc.body, dict) else ""
            if exc.status != 401 or code != "bad_signature":
                raise
            old_key, device.key = device.key, new_key
            try:
                data = self.send(device.envelope(device._message("renew", csr=csr)))
            except GatewayRefused:
                device.key = old_key
                raise
        old_key, device.key = device.key, new_key
        try:
            device.accept_certificate(data, self.trusted_ca)
        except Exception:
            device.key = old_key
            raise
        device.pending_key = None
        return data

    def authorize(self, device: Device, entitlements=None) -> dict:
        items = entitlements if entitlements is not None else device.entitlements
        message = device._message(
            "authorize", entitlements=[{"tag": t, "count": c} for t, c in items]
        )
        return self.send(device.envelope(message))

    def report_usage(self, device: Device, usage=None) -> dict:
        items = usage if usage is not None else device.entitlements
        message = device._message("reportUsage", usage=[{"tag": t, "count": c} for t, c in items])
        return self.send(device.envelope(message))

    def deregister(self, device: Device) -> dict:
        data = self.send(device.envelope(device._message("deregister")))
        device.instance = None
        return data
