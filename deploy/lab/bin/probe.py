"""Load and measurement client of the HA lab; runs inside the client namespace only.

    probe.py run LOG STOPFILE      loop until STOPFILE exists, one line per attempt:
                                   <t> pg <seq> OK <server>   an acknowledged INSERT through the VIP
                                   <t> app - OK <status>      a database-backed request to the app
                                   <t> <kind> <seq> FAIL <error>
    probe.py report LOG T0 [OLD]   outage after the event at T0: first acknowledged write on a
                                   server other than OLD, first app answer, the longest gap
                                   between acknowledged writes from T0 on (stall), and
                                   acknowledged writes missing from the database now (lost)

Every write uses a fresh connection (as a request of the application does), commits, and
counts as acknowledged only once COMMIT returned.
"""

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

import psycopg2

VIP = os.environ["VIP"]
PG_PORT = os.environ.get("PG_PORT", "5432")
WEB_PORT = os.environ.get("WEB_PORT", "8443")
APP = os.environ.get("PROBE_APP", "1") == "1"
DSN = f"host={VIP} port={PG_PORT} user=postgres dbname=postgres connect_timeout=1"


def pg_write(seq: int) -> str:
    conn = psycopg2.connect(DSN)
    try:
        cur = conn.cursor()
        cur.execute("SET statement_timeout = '3s'")
        cur.execute(
            "INSERT INTO lab_probe (client_seq) VALUES (%s)"
            " RETURNING current_setting('cluster_name')",
            (seq,),
        )
        server = cur.fetchone()[0]
        conn.commit()
        return server
    finally:
        conn.close()


def app_request() -> str:
    """POST /oauth/token with unknown credentials: the app must read the database to refuse."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    body = b"grant_type=client_credentials&client_id=lab-probe&client_secret=none"
    req = urllib.request.Request(f"https://{VIP}:{WEB_PORT}/oauth/token", data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=2, context=ctx) as resp:  # noqa: S310 - fixed https URL
            return str(resp.status)
    except urllib.error.HTTPError as exc:
        if exc.code >= 500:
            raise
        return str(exc.code)


def run(log_path: str, stop_path: str) -> None:
    seq = int(time.time() * 1000)
    with open(log_path, "a", buffering=1) as log:
        while not os.path.exists(stop_path):
            seq += 1
            t = time.time()
            try:
                log.write(f"{t:.3f} pg {seq} OK {pg_write(seq)}\n")
            except Exception as exc:  # noqa: BLE001 - every failure is a data point
                log.write(f"{t:.3f} pg {seq} FAIL {first_line(exc)}\n")
            if APP:
                t = time.time()
                try:
                    log.write(f"{t:.3f} app - OK {app_request()}\n")
                except Exception as exc:  # noqa: BLE001
                    log.write(f"{t:.3f} app - FAIL {first_line(exc)}\n")
            time.sleep(0.05)


def first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:100] if text else type(exc).__name__


def report(log_path: str, t0: float, old: str | None) -> dict:
    with open(log_path) as log:
        rows = [line.split(None, 4) for line in log]
    pg_ok = [(float(r[0]), int(r[2]), r[4].strip()) for r in rows if r[1] == "pg" and r[3] == "OK"]
    app_ok = [float(r[0]) for r in rows if r[1] == "app" and r[3] == "OK"]
    fails = [r for r in rows if r[3] == "FAIL"]
    after = [w for w in pg_ok if w[0] >= t0 and (old is None or w[2] != old)]
    app_fail = [float(r[0]) for r in rows if r[1] == "app" and r[3] == "FAIL" and float(r[0]) >= t0]
    # the app is back at its first answer after its first failure (no failure: no outage)
    app_after = [t for t in app_ok if t > app_fail[0]] if app_fail else [t0][: len(app_ok)]
    conn = psycopg2.connect(DSN.replace("connect_timeout=1", "connect_timeout=5"))
    cur = conn.cursor()
    cur.execute("SELECT client_seq FROM lab_probe")
    have = {r[0] for r in cur.fetchall()}
    conn.close()
    lost = [seq for _, seq, _ in pg_ok if seq not in have]
    starts = [t0] + sorted(t for t, _, _ in pg_ok if t >= t0)
    stall = max((b - a for a, b in zip(starts, starts[1:], strict=False)), default=None)
    return {
        "writes_acknowledged": len(pg_ok),
        "attempts_failed": len(fails),
        "first_write_after_s": round(after[0][0] - t0, 2) if after else None,
        "new_server": after[0][2] if after else None,
        "first_app_answer_after_s": round(app_after[0] - t0, 2) if app_after else None,
        "stall_s": round(stall, 2) if stall is not None else None,
        "lost": len(lost),
    }


def main() -> None:
    if sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "report":
        old = sys.argv[4] if len(sys.argv) > 4 else None
        print(json.dumps(report(sys.argv[2], float(sys.argv[3]), old)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
