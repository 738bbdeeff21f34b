"""ha_status: PCSD Status, Daemon Status and Database Replication Status of this node."""

import subprocess

from highavailability import cluster

from ._base import HACommand

NOT_RUNNING = "Error: cluster is not currently running on this node"


class Command(HACommand):
    help = "Show the cluster nodes, the cluster daemons and the database replication state."

    def handle(self, *args, **options):
        if not cluster.ha_enabled():
            self.say("HA is not enabled.")
            return
        nodes = cluster.configured_nodes()
        self.say("PCSD Status:")
        if cluster.cluster_running():
            state = cluster.cluster_state()
            for node in nodes:
                seen = state.node(node.name)
                self.say(f"  {node.name}: {'Online' if seen and seen.online else 'Offline'}")
            self.say_quorum()
            self.say_protection(state)
        else:
            self.say(NOT_RUNNING)
            if cluster.BOOT_REFUSAL.exists():
                reason = cluster.BOOT_REFUSAL.read_text().strip()
                self.say(f"This node stayed out of the cluster at boot: {reason}")
        self.say("")
        self.say("Daemon Status:")
        # on a systemd host: Debian's units as systemctl reports them; in the lab's nodes (no
        # systemd, no pcsd) the pcsd line reports pacemakerd, which holds the configuration
        on_systemd = cluster.systemd_host()
        for name, daemon in (
            ("corosync", "corosync"),
            ("pacemaker", "pacemakerd"),
            ("pcsd", "pcsd" if on_systemd else "pacemakerd"),
        ):
            if on_systemd:
                active, enabled = cluster.unit_state(daemon)
            else:
                active, enabled = (
                    "active" if cluster.daemon_running(daemon) else "inactive",
                    "enabled",
                )
            self.say(f"  {name}: {active}/{enabled}")
        self.say("")
        self.say("Database Replication Status:")
        if not cluster.db_running():
            self.say("DB service not currently running.")
            return
        db = cluster.database_state()
        peers = {n.cluster_addr: n.name for n in nodes}
        if not db.in_recovery:
            targets = ", ".join(f"{s.application_name} ({s.client_addr})" for s in db.standbys)
            self.say(
                "Database is currently the replication master"
                + (f" - Replicating to {targets}" if targets else " - No standby is replicating")
            )
            self.say("")
            self.say("Replication to slave:")
            header = (
                "client_addr",
                "backend_start",
                "state",
                "write_lag",
                "flush_lag",
                "replay_lag",
            )
            rows = [
                (s.client_addr, s.backend_start, s.state, s.write_lag, s.flush_lag, s.replay_lag)
                for s in db.standbys
            ]
            self.table(header, rows)
        else:
            source = peers.get(db.sender_host) or self.primary_name(nodes)
            self.say(
                "Database is currently the replication slave - "
                f"Replicating from {source} ({db.sender_host or 'not connected'})"
            )
            self.say("")
            self.say("Replication from master:")
            self.table(
                ("last_replayed_location", "receiver_status"),
                [(db.last_replayed, db.receiver_status or "stopped")],
            )

    def say_quorum(self) -> None:
        """Quorum state and votes (corosync votequorum; the quorum device when there is one)."""
        self.say("")
        self.say("Quorum Status:")
        try:
            q = cluster.quorum_state()
        except (cluster.ClusterError, OSError, subprocess.SubprocessError):
            self.say("  unknown (corosync-quorumtool did not answer)")
            return
        self.say(f"  Quorate: {'Yes' if q.quorate else 'No'}")
        self.say(f"  Votes: {q.total_votes} of {q.expected_votes} expected, {q.quorum} needed")
        if q.qdevice:
            self.say(f"  Quorum device: voting ({q.qdevice_votes} vote)")
        else:
            self.say("  Quorum device: none")

    def say_protection(self, state: cluster.ClusterState) -> None:
        """Who serves, and whether the cluster could fail over now."""
        self.say("")
        self.say("Cluster Status:")
        reason = state.no_active_server()
        if reason:
            self.say(f"  Active server: none - No active server: {reason}")
        else:
            self.say(f"  Active server: {state.promoted or 'unknown (no quorum)'}")
        self.say(f"  Standby promotable: {state.promotability()}")

    def primary_name(self, nodes) -> str:
        try:
            promoted = cluster.cluster_state().promoted
        except cluster.ClusterError:
            promoted = None
        return promoted or "the primary"

    def table(self, header, rows) -> None:
        widths = [max(len(str(v)) for v in col) for col in zip(header, *rows, strict=True)]
        self.say(" " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        self.say("-" + "-+-".join("-" * w for w in widths) + "-")
        for row in rows:
            self.say(" " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
        self.say(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
