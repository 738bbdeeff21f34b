"""apply_time_settings: write Settings → Time's NTP servers as this node's chrony sources
(the cluster agent runs it on a node that has not applied the latest ones)."""

from django.core.management.base import BaseCommand

from core import timekeeping


class Command(BaseCommand):
    help = "Apply the NTP servers of Settings → Time to chrony on this node."

    def handle(self, *args, **options):
        self.stdout.write(timekeeping.apply_ntp_servers())
