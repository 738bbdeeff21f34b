"""ha_rehearse: failover and fallback in one go, measured (the tech note's scenarios 2-4)."""

from highavailability.choices import HAJobKind

from ._base import HACommand


class Command(HACommand):
    help = (
        "Rehearse a failover and a fallback: the active role moves to the standby and back "
        "while a probe registers products through the VIP; prints per transition the write "
        "stall and the time to the first acknowledged registration, and checks that no "
        "acknowledged registration was lost. Refused unless the cluster is Normal."
    )

    def handle(self, *args, **options):
        self.require_ha()
        job = self.run_operation(HAJobKind.REHEARSAL)
        for figures in job.report.get("transitions", []):
            self.say(
                f"{figures['name']}: {figures['from']} -> {figures['to']}, write stall "
                f"{figures['write_stall_s']} s, first acknowledged registration "
                f"{figures['first_acknowledged_s']} s"
            )
        self.say(
            f"Registrations acknowledged: {job.report.get('acknowledged')}, "
            f"lost: {job.report.get('lost')}"
        )
