"""Act as products against any server: register, authorize, report usage, renew, deregister.

Prints one line per acknowledged operation on stdout:
    2026-11-25T18:00:00Z OK register UDI_PID:PI-SOFTWARE; UDI_SN:pi37 instance=… serial=…
and one FAIL line per refused operation on stderr. Exit status 1 when any operation failed.
"""

import datetime as dt
import json
import os
import time
from pathlib import Path

import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.management.base import BaseCommand, CommandError

from licensing import pki
from licensing.simulator import (
    GATEWAY_PATH,
    NAMED_DEVICES,
    SMART_TRANSPORT_PATH,
    Client,
    Device,
    GatewayRefused,
)

OPERATIONS = ("register", "authorize", "report", "renew", "deregister")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Command(BaseCommand):
    help = "Simulate products (pi37, cucm-pub-30, N synthetic) against a Transport Gateway."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", required=True, help="Server base URL, e.g. https://10.0.0.5:8443"
        )
        parser.add_argument("--token", default="", help="Registration token (for register)")
        parser.add_argument(
            "--device",
            action="append",
            default=[],
            help=f"Named device ({', '.join(NAMED_DEVICES)}); repeatable",
        )
        parser.add_argument("--synthetic", type=int, default=0, help="N synthetic devices")
        parser.add_argument("--prefix", default="sim", help="Serial prefix of synthetic devices")
        parser.add_argument(
            "--operations",
            default="register,authorize,report",
            help=f"Comma-separated, in order: {','.join(OPERATIONS)}",
        )
        parser.add_argument(
            "--transport",
            choices=["call-home", "smart-transport"],
            default="call-home",
            help="Smart Call Home (/Transportgateway/...) or Smart Transport URL",
        )
        parser.add_argument("--ca-file", help="Trusted product CA certificate (PEM)")
        parser.add_argument("--tls-ca-file", help="CA bundle to verify the server's HTTPS")
        parser.add_argument(
            "--state", help="JSON file keeping the devices' keys and ids between runs"
        )
        parser.add_argument(
            "--retry-for",
            type=float,
            default=0.0,
            help="Keep retrying an operation on connection errors or 5xx for this many seconds",
        )
        parser.add_argument("--timeout", type=float, default=10.0)

    def handle(self, *args, **options):
        operations = [op.strip() for op in options["operations"].split(",") if op.strip()]
        unknown = [op for op in operations if op not in OPERATIONS]
        if unknown:
            raise CommandError(f"unknown operation(s): {', '.join(unknown)}")
        if "register" in operations and not options["token"]:
            raise CommandError("--token is required to register")
        trusted = None
        if options["ca_file"]:
            trusted = x509.load_pem_x509_certificate(Path(options["ca_file"]).read_bytes())
        path = GATEWAY_PATH if options["transport"] == "call-home" else SMART_TRANSPORT_PATH
        client = Client(
            options["url"],
            verify=options["tls_ca_file"] or False,
            timeout=options["timeout"],
            path=path,
            trusted_ca=trusted,
        )
        if not options["tls_ca_file"]:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        state_path = Path(options["state"]) if options["state"] else None
        devices = self._devices(options, state_path)
        if not devices:
            raise CommandError("no devices: use --device and/or --synthetic")
        try:
            failures = self._run_all(client, devices, operations, options, state_path)
        finally:
            client.close()
        if failures:
            raise CommandError(f"{failures} operation(s) failed")

    def _run_all(self, client, devices, operations, options, state_path) -> int:
        failures = 0
        for device in devices:
            for op in operations:
                if op != "register" and not device.instance:
                    self._fail(op, device, "not registered")
                    failures += 1
                    break
                try:
                    data = self._run(client, device, op, options)
                except (GatewayRefused, pki.CertificateError, OSError) as exc:
                    self._fail(op, device, str(exc)[:300])
                    failures += 1
                    break
                self.stdout.write(f"{_now()} OK {op} {device.name} {self._detail(op, data)}")
                self.stdout.flush()
                if state_path:
                    self._save(state_path, devices)
        if state_path:
            self._save(state_path, devices)
        return failures

    def _run(self, client, device, op, options):
        deadline = time.monotonic() + options["retry_for"]
        while True:
            try:
                if op == "register":
                    return client.register(device, options["token"])
                if op == "authorize":
                    return client.authorize(device)
                if op == "report":
                    return client.report_usage(device)
                if op == "renew":
                    return client.renew(device)
                return client.deregister(device)
            except Exception as exc:
                transient = not isinstance(exc, GatewayRefused | pki.CertificateError) or (
                    isinstance(exc, GatewayRefused) and exc.status >= 500
                )
                if not transient or time.monotonic() >= deadline:
                    if isinstance(exc, GatewayRefused | pki.CertificateError):
                        raise
                    raise OSError(f"{type(exc).__name__}: {exc}") from exc
                time.sleep(0.5)

    def _detail(self, op, data) -> str:
        if op in ("register", "renew"):
            return f"instance={data['instance']} serial={data['serialNumber']} verified=yes"
        if op in ("authorize", "report"):
            return " ".join(f"{e['tag']}={e['count']}:{e['status']}" for e in data["entitlements"])
        return f"instance={data['instance']}"

    def _fail(self, op, device, reason):
        self.stderr.write(f"{_now()} FAIL {op} {device.name} {reason}")

    def _devices(self, options, state_path):
        if state_path and state_path.exists():
            saved = json.loads(state_path.read_text())
            devices = []
            for item in saved:
                device = Device(
                    sn=item["sn"],
                    pid=item["pid"],
                    product_type=item["product_type"],
                    version=item["version"],
                    hostname=item["hostname"],
                    entitlements=[tuple(e) for e in item["entitlements"]],
                    instance=item.get("instance"),
                )
                for attr in ("key", "pending_key"):
                    if item.get(attr):
                        setattr(
                            device,
                            attr,
                            serialization.load_pem_private_key(item[attr].encode(), password=None),
                        )
                devices.append(device)
            return devices
        devices = []
        for name in options["device"]:
            if name not in NAMED_DEVICES:
                raise CommandError(f"unknown device {name} ({', '.join(NAMED_DEVICES)})")
            devices.append(Device.named(name))
        devices += [Device.synthetic(i, options["prefix"]) for i in range(options["synthetic"])]
        return devices

    def _save(self, state_path, devices):
        items = []
        for d in devices:
            keys = {}
            for attr in ("key", "pending_key"):
                value = getattr(d, attr)
                keys[attr] = (
                    value.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    ).decode()
                    if value is not None
                    else ""
                )
            items.append(
                {
                    "sn": d.sn,
                    "pid": d.pid,
                    "product_type": d.product_type,
                    "version": d.version,
                    "hostname": d.hostname,
                    "entitlements": d.entitlements,
                    "instance": d.instance,
                    **keys,
                }
            )
        tmp = state_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(items, fh)
        tmp.replace(state_path)
