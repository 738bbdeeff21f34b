"""The registration benchmark's two topologies side by side, and each target met or not.

Usage: targets.py SINGLE_BEFORE.json VIP.json SINGLE_AFTER.json (written by
registration_benchmark --results). The single node ran before and after the lab: its rates
are averaged and its worse p99 kept, so the VIP is compared with both.
"""

import json
import sys

STORM = "storm"
NEW_TLS = "new TLS connection each"


def read(path: str) -> dict:
    with open(path) as results:
        return json.load(results)


def single_node(before: dict, after: dict) -> dict:
    """The single node's passes, before and after the lab merged."""
    merged = {}
    for label, a in before.items():
        z = after.get(label, a)
        print(
            f"  {label}: single node before the lab {a['rate']:.0f}/s (p99 {a['p99_ms']} ms),"
            f" after it {z['rate']:.0f}/s (p99 {z['p99_ms']} ms)"
        )
        merged[label] = {
            "rate": (a["rate"] + z["rate"]) / 2,
            "p99_ms": max(a["p99_ms"], z["p99_ms"]),
            "errors": a["errors"] + z["errors"],
        }
    return merged


def registration_checks(single: dict, vip: dict) -> list[tuple[str, bool, str]]:
    """Rate ratio, p99 and errors of each registration pass (keep-alive, new TLS)."""
    checks = []
    for label, a in single.items():
        b = vip.get(label)
        if label == STORM or not b:
            continue
        ratio = b["rate"] / a["rate"]
        print(
            f"  {label}: single node {a['rate']:.0f}/s (p99 {a['p99_ms']} ms)  |  through the"
            f" VIP {b['rate']:.0f}/s (p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms, errors"
            f" {b['errors']})  |  VIP/single {ratio:.0%}"
        )
        checks += [
            (f"{label}: through the VIP >= 80 % of the single node", ratio >= 0.8, f"{ratio:.0%}"),
            (
                f"{label}: p99 through the VIP <= 40 ms",
                b["p99_ms"] <= 40,
                f"{b['p99_ms']} ms (the single node's own: {a['p99_ms']} ms)",
            ),
            (
                f"{label}: no error",
                a["errors"] + b["errors"] == 0,
                f"{a['errors']} + {b['errors']}",
            ),
        ]
    return checks


def storm_checks(single: dict, storm: dict) -> list[tuple[str, bool, str]]:
    """The storm through the VIP against the single node's own re-registrations (the same
    work: each retires an instance and releases its licenses), no error, the login page."""
    pages = ", ".join(
        f"{name} p99 {f['p99_ms']} ms (max {f['max_ms']} ms, not 200: {f['failed']})"
        for name, f in storm["pages"].items()
    )
    print(
        f"  re-registration storm through the VIP: {storm['registrations']} in"
        f" {storm['seconds']:.0f} s ({storm['rate']:.0f}/s, p99 {storm['p99_ms']} ms,"
        f" errors {storm['errors']}); {pages}"
    )
    checks = []
    if STORM in single:
        rate = single[STORM]["rate"]
        share = storm["rate"] / rate
        first = single.get(NEW_TLS)
        also = f"; {storm['rate'] / first['rate']:.0%} of its first registrations" if first else ""
        checks.append(
            (
                "storm: >= 80 % of the single node's re-registrations (new TLS each)",
                share >= 0.8,
                f"{storm['rate']:.0f}/s against {rate:.0f}/s, {share:.0%}{also}",
            )
        )
    checks.append(("storm: no error", storm["errors"] == 0, str(storm["errors"])))
    login = storm["pages"].get("login page")
    if login:
        checks.append(
            (
                "storm: the login page's p99 < 1 s",
                login["p99_ms"] is not None and login["p99_ms"] < 1000 and not login["failed"],
                f"{login['p99_ms']} ms, not 200: {login['failed']}",
            )
        )
    return checks


def main(before_path: str, vip_path: str, after_path: str) -> None:
    before, vip, after = (read(path) for path in (before_path, vip_path, after_path))
    single = single_node(before, after)
    checks = registration_checks(single, vip)
    if STORM in vip:
        checks += storm_checks(single, vip[STORM])
    print("Targets:")
    for target, met, figures in checks:
        print(f"  {'met    ' if met else 'NOT MET'}  {target}: {figures}")
    print(f"  {sum(met for _, met, _ in checks)} of {len(checks)} met")


if __name__ == "__main__":
    main(*sys.argv[1:4])
