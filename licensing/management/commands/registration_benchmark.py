"""Measure product registration throughput and the Licenses tab's server time.

Run through deploy/bench/registration, which gives it a database with a synchronous
standby and an HTTPS server started like production. On its own:
    manage.py registration_benchmark --url https://127.0.0.1:8443
writes a BENCH account into the configured database.
"""

import collections
import functools
import http.client
import json
import os
import platform
import ssl
import statistics
import threading
import time
import urllib.parse

import psutil
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client as DjangoClient
from django.utils import timezone

from accounts.models import LocalAccount, PurchasedLicense
from accounts.services import create_local_account
from licensing import pki, services
from licensing.catalog import CATALOG
from licensing.simulator import GATEWAY_PATH

ACCOUNT = "BENCH"


class Latency(float):
    """A registration's latency in seconds, with the server's Server-Timing header (or None)."""

    def __new__(cls, seconds: float, timing: str | None = None):
        self = super().__new__(cls, seconds)
        self.timing = timing
        return self


def server_timing(header: str) -> dict[str, float]:
    """{'app': ms, 'connect': ms, 'sql': ms, 'statements': n} of a Server-Timing value."""
    result = {}
    for metric in header.split(","):
        name, *params = (part.strip() for part in metric.split(";"))
        for param in params:
            key, _, value = param.partition("=")
            if key == "dur":
                result[name] = float(value)
            elif key == "desc" and name == "sql":
                result["statements"] = float(value.strip('"'))
    return result


class WaitEventSampler(threading.Thread):
    """Samples what the application's busy PostgreSQL backends wait on, every 10 ms."""

    SQL = (
        "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity"
        " WHERE backend_type = 'client backend' AND application_name LIKE 'ssm%'"
        " AND state <> 'idle' AND pid <> pg_backend_pid()"
    )

    def __init__(self):
        super().__init__(daemon=True)
        self.counts: dict[str, int] = {}
        self.samples = 0
        self.done = threading.Event()

    def run(self):
        try:
            with connection.cursor() as cursor:
                while not self.done.wait(0.01):
                    cursor.execute(self.SQL)
                    self.samples += 1
                    for (event,) in cursor.fetchall():
                        self.counts[event] = self.counts.get(event, 0) + 1
        finally:
            connection.close()

    def stop(self):
        self.done.set()
        self.join()

    def summary(self) -> str:
        """Busy backends on average, and the share of each wait event (CPU: none)."""
        busy = sum(self.counts.values())
        if not self.samples or not busy:
            return "none seen"
        shares = sorted(self.counts.items(), key=lambda item: -item[1])[:6]
        return f"{busy / self.samples:.1f} on average; " + ", ".join(
            f"{event} {count / busy:.0%}" for event, count in shares
        )


class PageProbe(threading.Thread):
    """A browser's requests (kept-alive, each page at its own interval), timed with status."""

    def __init__(self, url, pages: dict[str, tuple[str, str, float]]):
        super().__init__(daemon=True)
        self.url = urllib.parse.urlsplit(url)
        self.pages = pages
        self.times: dict[str, list[float]] = {name: [] for name in pages}
        self.failed: dict[str, int] = dict.fromkeys(pages, 0)
        self.done = threading.Event()

    def run(self):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conns = {}
        due = dict.fromkeys(self.pages, 0.0)
        while not self.done.wait(0.05):
            for name, (path, cookie, interval) in self.pages.items():
                if time.monotonic() < due[name]:
                    continue
                due[name] = time.monotonic() + interval
                conn = conns.get(name) or http.client.HTTPSConnection(
                    self.url.hostname, self.url.port, context=context, timeout=30
                )
                conns[name] = conn
                start = time.perf_counter()
                try:
                    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
                    response = conn.getresponse()
                    response.read()
                    ok = response.status == 200
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conns.pop(name)
                    ok = False
                self.times[name].append(time.perf_counter() - start)
                self.failed[name] += 0 if ok else 1

    def stop(self):
        self.done.set()
        self.join()

    def summary(self) -> dict[str, dict]:
        return {
            name: {
                "requests": len(times),
                "p50_ms": round(percentile(times, 0.5) * 1000, 1) if times else None,
                "p99_ms": round(percentile(times, 0.99) * 1000, 1) if times else None,
                "max_ms": round(max(times) * 1000, 1) if times else None,
                "failed": self.failed[name],
            }
            for name, times in self.times.items()
        }


def busy_seconds(before, after) -> float:
    """CPU seconds the whole machine spent on anything but idling between two cpu_times()."""

    def busy(times):
        # guest time is already in user and nice; steal is another machine's
        idle = ("idle", "iowait", "steal", "guest", "guest_nice")
        return sum(times) - sum(getattr(times, name, 0.0) for name in idle)

    return busy(after) - busy(before)


def process_cpu() -> dict[tuple[int, float], tuple[str, float]]:
    """Every process's own CPU seconds so far, by (pid, start time)."""
    result = {}
    for proc in psutil.process_iter(["name", "cpu_times", "create_time"]):
        times = proc.info["cpu_times"]
        if times is None:
            continue
        spent = times.user + times.system
        result[proc.pid, proc.info["create_time"]] = (proc.info["name"] or "?", spent)
    return result


def cpu_by_name(
    before, after, busy: float, interrupts: float, top: int = 8
) -> list[tuple[str, float]]:
    """CPU seconds per process name between two process_cpu() snapshots, the largest first,
    then the kernel's interrupt handling (network packets included) and what else the
    machine did (processes that did not live to the end: monitors, commands)."""
    spent = {}
    for key, (name, total) in after.items():
        spent[name] = spent.get(name, 0.0) + total - before.get(key, (name, 0.0))[1]
    shown = sorted(spent.items(), key=lambda item: -item[1])[:top]
    rest = busy - interrupts - sum(seconds for _, seconds in shown)
    return [*shown, ("interrupts", interrupts), ("other", rest)]


def interrupt_seconds(before, after) -> float:
    """CPU seconds spent in hard and soft interrupts between two cpu_times()."""
    return sum(getattr(after, n, 0.0) - getattr(before, n, 0.0) for n in ("irq", "softirq"))


def refusal(status: int, answer: bytes) -> str:
    """'409 conflict': the status and the gateway's error code of a refused registration."""
    try:
        code = json.loads(answer)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = answer[:40].decode(errors="replace")
    return f"{status} {code}"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Command(BaseCommand):
    help = "Registrations/s, p50 and p99 at N concurrent clients; Licenses tab time at 100k."

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True)
        parser.add_argument("--clients", type=int, default=8)
        parser.add_argument("--registrations", type=int, default=4000)
        parser.add_argument("--warmup", type=int, default=300)
        parser.add_argument("--instances", type=int, default=100_000)
        parser.add_argument(
            "--fresh-registrations",
            type=int,
            default=2000,
            help="registrations sent with a new TLS connection each, as products do",
        )
        parser.add_argument(
            "--storm",
            type=int,
            default=0,
            help="then re-register this many of the existing instances, a new TLS connection"
            " each (after a Host Common Name change or a long outage), timing the login page and"
            " the Licenses tab meanwhile",
        )
        parser.add_argument("--results", help="write the measured figures to this JSON file")
        parser.add_argument(
            "--skip-licenses-tab", action="store_true", help="registrations only (no tab timing)"
        )
        parser.add_argument("--server-pid", type=int, help="application server (CPU accounting)")
        parser.add_argument("--proxy-pid", type=int, help="nginx's master (CPU accounting)")
        parser.add_argument("--postgres-pid", type=int, help="postmaster (CPU accounting)")
        parser.add_argument("--standby-pid", type=int, help="standby's postmaster (CPU accounting)")

    def handle(self, *args, **options):
        va, token = self._account()
        cpu = platform.processor() or platform.machine()
        self.stdout.write(
            f"machine: {platform.node()}, {os.cpu_count()} CPU ({cpu}); "
            f"date: {timezone.now():%Y-%m-%d %H:%M} UTC; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        # The registrations run against a server that already holds the account's 100,000
        # instances, like a server in service (and not against empty tables, where
        # autovacuum re-analyzes them every few hundred rows).
        self._build_instances(va, options["instances"])
        warmup, kept, fresh = (
            options["warmup"],
            options["registrations"],
            options["fresh_registrations"],
        )
        self.stdout.write(f"preparing {warmup + kept + fresh} device keys and CSRs …")
        bodies = [self._register_body(token, i) for i in range(warmup + kept + fresh)]
        self._load(options, bodies[:warmup])
        self.results: dict[str, dict] = {}
        self._measure(options, bodies[warmup : warmup + kept], "keep-alive", fresh=False)
        if fresh:
            self._measure(options, bodies[warmup + kept :], "new TLS connection each", fresh=True)
        if not options["skip_licenses_tab"]:
            self._licenses_tab(va, options["instances"])
        if options["storm"]:
            self._storm(options, va, token, min(options["storm"], options["instances"]))
        if options["results"]:
            with open(options["results"], "w") as out:
                json.dump(self.results, out, indent=2)

    def _measure(self, options, bodies, label, *, fresh, progress=False):
        before = self._cpu(options)
        processes_before = process_cpu()
        machine_before = psutil.cpu_times()
        client_before = time.process_time()
        sampler = WaitEventSampler()
        sampler.start()
        rate, latencies, errors = self._load(options, bodies, fresh=fresh, progress=progress)
        sampler.stop()
        client_cpu = time.process_time() - client_before
        machine_after = psutil.cpu_times()
        machine = busy_seconds(machine_before, machine_after)
        by_name = cpu_by_name(
            processes_before,
            process_cpu(),
            machine,
            interrupt_seconds(machine_before, machine_after),
        )
        after = self._cpu(options)
        self.stdout.write(
            f"registrations ({label}): {len(latencies)} at {options['clients']} clients: "
            f"{rate:.0f}/s, p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, errors {errors}; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        breakdown = self._breakdown(latencies)
        if breakdown:
            self.stdout.write(f"where a registration's time goes (median ms): {breakdown}")
        self.stdout.write(f"PostgreSQL, the application's busy backends: {sampler.summary()}")
        self.results[label] = {
            "clients": options["clients"],
            "registrations": len(latencies),
            "rate": round(rate, 1),
            "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
            "errors": errors,
            "breakdown": breakdown,
            "postgres_waits": sampler.summary(),
        }
        count = len(latencies)
        parts = [f"client {client_cpu / count * 1000:.2f}"]
        for name in after:
            parts.append(f"{name} {(after[name] - before[name]) / count * 1000:.2f}")
        self.stdout.write(f"CPU ms per registration: {', '.join(parts)}")
        elapsed = len(latencies) / rate
        self.stdout.write(
            f"the whole machine: {machine / count * 1000:.2f} CPU ms per registration, "
            f"{machine / elapsed / (os.cpu_count() or 1):.0%} of its CPUs busy"
        )
        self.results[label]["machine_cpu_ms"] = round(machine / count * 1000, 2)
        shares = {name: round(seconds / count * 1000, 2) for name, seconds in by_name}
        self.stdout.write(
            "by process name (CPU ms per registration): "
            + ", ".join(f"{name} {ms:.2f}" for name, ms in shares.items())
        )
        self.results[label]["cpu_ms_by_process"] = shares

    def _bench_admin(self):
        """The system administrator whose session the benchmark's page requests use."""
        user = get_user_model().objects.filter(username="bench-admin").first()
        return user or get_user_model().objects.create_superuser("bench-admin", password=None)

    def _breakdown(self, latencies) -> str:
        """Client latency = outside the application + connect + SQL + the rest, as medians."""
        rows = [(lat * 1000, server_timing(lat.timing)) for lat in latencies if lat.timing]
        if not rows:
            return ""

        def median(values):
            return statistics.median(values)

        app = [t.get("app", 0.0) for _, t in rows]
        connect = [t.get("connect", 0.0) for _, t in rows]
        sql = [t.get("sql", 0.0) for _, t in rows]
        rest = [t.get("app", 0.0) - t.get("connect", 0.0) - t.get("sql", 0.0) for _, t in rows]
        outside = [ms - t.get("app", 0.0) for ms, t in rows]
        statements = median([t.get("statements", 0.0) for _, t in rows])
        return (
            f"client {median([ms for ms, _ in rows]):.2f} = outside the application "
            f"(TLS, nginx, the app server's queue) {median(outside):.2f} (p99 "
            f"{percentile(outside, 0.99):.1f}) + application {median(app):.2f} (p99 "
            f"{percentile(app, 0.99):.1f}): database connection {median(connect):.2f} (p99 "
            f"{percentile(connect, 0.99):.1f}), SQL {median(sql):.2f} (p99 "
            f"{percentile(sql, 0.99):.1f}, {statements:.0f} statements), the rest "
            f"(parsing, signing, JSON) {median(rest):.2f}"
        )

    def _account(self):
        account = LocalAccount.objects.filter(name=ACCOUNT).first()
        if account is None:
            account = create_local_account(
                name=ACCOUNT,
                cisco_smart_account="Benchmark",
                cisco_virtual_account="Benchmark",
                notification_email="bench@example.com",
            )
        va = account.default_virtual_account
        for info in CATALOG:
            PurchasedLicense.objects.update_or_create(
                virtual_account=va,
                tag=info.tag,
                defaults={
                    "account": account,
                    "name": info.name,
                    "quantity": 50_000,
                    "product_type": info.product_type,
                    "synchronized": timezone.now(),
                },
            )
        services.product_ca()
        token = services.create_token(va, description="benchmark", expires_after_days=1)
        return va, token

    def _cpu(self, options) -> dict[str, float]:
        """CPU seconds used so far by the web server's and PostgreSQL's process trees."""
        result = {}
        for name, pid in (
            ("nginx", options["proxy_pid"]),
            ("web", options["server_pid"]),
            ("postgres", options["postgres_pid"]),
            ("standby", options["standby_pid"]),
        ):
            if not pid:
                continue
            try:
                root = psutil.Process(pid)
                total = 0.0
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        times = proc.cpu_times()
                        total += times.user + times.system
                    except psutil.Error:
                        continue
            except psutil.Error:
                continue
            result[name] = total
        return result

    def _storm(self, options, va, token, count):
        """Every one of `count` registered products registers again, a new TLS connection
        each, while a browser's requests for the login page and the Licenses tab are timed."""
        # Each body is made right before it is sent (a new key and CSR, as the product makes
        # them): made in advance, the last ones would be refused as stale after minutes.
        bodies = [
            functools.partial(self._register_body, token, index, sn=f"bulk{index + 1}")
            for index in range(count)
        ]
        user = self._bench_admin()
        browser = DjangoClient()
        browser.force_login(user)
        cookie = f"sessionid={browser.cookies['sessionid'].value}"
        pages = PageProbe(
            options["url"],
            {
                # every 3 s: nginx lets one address ask for it 30 times a minute
                "login page": ("/login/", "", 3.0),
                "Licenses tab": (
                    f"/smart-licensing/inventory/licenses/?account={va.account_id}&va={va.pk}",
                    cookie,
                    0.5,
                ),
            },
        )
        self.stdout.write(f"re-registration storm: {count} products, {options['clients']} clients")
        pages.start()
        self._measure(options, bodies, "storm", fresh=True, progress=True)
        pages.stop()
        storm = self.results["storm"]
        storm["seconds"] = round(count / storm["rate"], 1)
        storm["pages"] = pages.summary()
        self.stdout.write(f"storm: {count} re-registrations in {storm['seconds']:.0f} s")
        for name, figures in pages.summary().items():
            self.stdout.write(
                f"  {name} during the storm: {figures['requests']} requests, p50 "
                f"{figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, max {figures['max_ms']}"
                f" ms, not 200: {figures['failed']}"
            )

    def _register_body(self, token, index, sn=None) -> bytes:
        key = ec.generate_private_key(ec.SECP256R1())
        sn = sn or f"bench{time.time_ns() % 10**12}{index}"
        message = {
            "type": "register",
            "timestamp": int(time.time()),
            "nonce": os.urandom(16).hex(),
            "token": token.token,
            "udi": {"pid": "PI-SOFTWARE", "sn": sn},
            "hostname": sn,
            "productType": "SDNMGMT",
            "softwareVersion": "3.10.4",
            "csr": pki.csr_for(key, sn),
        }
        return json.dumps({"message": json.dumps(message)}).encode()

    def _load(self, options, bodies, *, fresh=False, progress=False):
        url = urllib.parse.urlsplit(options["url"])
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        latencies, errors = [], collections.Counter()
        lock = threading.Lock()
        queue = list(reversed(bodies))

        def worker():
            conn = http.client.HTTPSConnection(url.hostname, url.port, context=context, timeout=30)
            mine, bad = [], collections.Counter()
            while True:
                with lock:
                    if not queue:
                        break
                    body = queue.pop()
                if callable(body):
                    body = body()
                start = time.perf_counter()
                try:
                    conn.request("POST", GATEWAY_PATH, body, {"Content-Type": "application/json"})
                    response = conn.getresponse()
                    answer = response.read()
                    error = None if response.status == 200 else refusal(response.status, answer)
                    timing = response.getheader("Server-Timing")
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = http.client.HTTPSConnection(
                        url.hostname, url.port, context=context, timeout=30
                    )
                    error, timing = type(exc).__name__, None
                if fresh:  # the next registration opens its own connection and handshake
                    conn.close()
                mine.append(Latency(time.perf_counter() - start, timing))
                if error:
                    bad[error] += 1
            conn.close()
            with lock:
                latencies.extend(mine)
                errors.update(bad)

        threads = [threading.Thread(target=worker) for _ in range(options["clients"])]
        began = time.perf_counter()
        for t in threads:
            t.start()
        while progress and any(t.is_alive() for t in threads):
            next(t for t in threads if t.is_alive()).join(10)
            with lock:
                left = len(queue)
            self.stdout.write(
                f"  {len(bodies) - left}/{len(bodies)} after {time.perf_counter() - began:.0f} s"
            )
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
        if errors:
            kinds = ", ".join(f"{kind} × {count}" for kind, count in errors.most_common())
            self.stdout.write(f"  not registered: {kinds}")
        return len(bodies) / elapsed, latencies, sum(errors.values())

    def _build_instances(self, va, instances):
        self.stdout.write(f"building {instances} product instances with 3 usage rows each …")
        tags = [info.tag for info in CATALOG[:3]]
        started = time.perf_counter()
        with connection.cursor() as cursor:
            # a second run against the same server builds only what the first did not
            cursor.execute(
                "SELECT count(*) FROM licensing_productinstance"
                " WHERE virtual_account_id = %s AND udi_sn LIKE 'bulk%%'",
                [va.pk],
            )
            built = cursor.fetchone()[0]
            # one statement: the usage rows of exactly the instances it inserts
            cursor.execute(
                "WITH new AS (INSERT INTO licensing_productinstance (uuid, virtual_account_id,"
                " name, udi_pid, udi_sn, hostname, product_type, software_version, status,"
                " certificate_serial, certificate_pem, certificate_expires, out_of_compliance,"
                " registered, last_contact) SELECT md5(random()::text || g)::uuid, %s,"
                " 'UDI_PID:PI-SOFTWARE; UDI_SN:bulk' || g, 'PI-SOFTWARE', 'bulk' || g, '',"
                " 'SDNMGMT', '', 'registered', to_hex(g), '', now() + interval '1 year', false,"
                " now(), now() FROM generate_series(%s, %s) g RETURNING id)"
                " INSERT INTO licensing_licenseusage (instance_id, tag, count, status, updated)"
                " SELECT new.id, t.tag, 1, 'AUTHORIZED', now() FROM new"
                " CROSS JOIN unnest(%s::text[]) AS t(tag)",
                [va.pk, built + 1, instances, tags],
            )
            usage_rows = cursor.rowcount
            if usage_rows:
                # as in service: vacuumed (autovacuum would visit every new page during the
                # first passes, with checksums writing each to the WAL) and analyzed
                cursor.execute("VACUUM (ANALYZE)")
        if usage_rows:
            services.recount_licenses(va)
        self._settle()
        self.stdout.write(
            f"{instances} instances in place ({max(instances - built, 0)} built now, with"
            f" {usage_rows} usage rows) after {time.perf_counter() - started:.1f} s"
        )

    def _settle(self, seconds=120):
        """Checkpoint, then wait until the standbys have replayed everything written so far."""
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
            deadline = time.monotonic() + seconds
            while True:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_replication"
                    " WHERE replay_lsn IS NULL OR replay_lsn < pg_current_wal_lsn()"
                )
                if cursor.fetchone()[0] == 0 or time.monotonic() > deadline:
                    return
                time.sleep(0.2)

    def _licenses_tab(self, va, instances):
        user = self._bench_admin()
        client = DjangoClient(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        path = f"/smart-licensing/inventory/licenses/?account={va.account_id}&va={va.pk}"
        for _ in range(5):
            client.get(path, secure=True)
        times = []
        for _ in range(50):
            start = time.perf_counter()
            response = client.get(path, secure=True)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
        rows = services.license_rows(va)
        in_use = sum(r["in_use"] for r in rows)
        self.stdout.write(
            f"licenses tab at {instances} instances: median {statistics.median(times) * 1000:.1f}"
            f" ms, p99 {percentile(times, 0.99) * 1000:.1f} ms (In Use total {in_use})"
        )
        with connection.cursor() as cursor:
            start = time.perf_counter()
            cursor.execute(
                "SELECT u.tag, SUM(u.count) FROM licensing_licenseusage u"
                " JOIN licensing_productinstance i ON i.id = u.instance_id"
                " WHERE i.virtual_account_id = %s AND i.status = 'registered' GROUP BY u.tag",
                [va.pk],
            )
            cursor.fetchall()
            self.stdout.write(
                f"for comparison, one aggregate over the usage rows: "
                f"{(time.perf_counter() - start) * 1000:.0f} ms"
            )
