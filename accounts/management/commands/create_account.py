"""Request a local account and approve it (registering it with CSC) from the console."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.access import is_system_admin
from accounts.services import approve_account_request, create_account_request


class Command(BaseCommand):
    help = "Create a local account: file the request and approve it as a system administrator."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Local Account Name")
        parser.add_argument("--smart-account", required=True, help="Cisco Smart Account")
        parser.add_argument("--virtual-account", required=True, help="Cisco Virtual Account")
        parser.add_argument("--email", required=True, help="Email for Notification")
        parser.add_argument("--admin", default="admin", help="system administrator who approves")

    def handle(self, *args, name, smart_account, virtual_account, email, admin, **options):
        user = get_user_model().objects.filter(username=admin).first()
        if user is None or not is_system_admin(user):
            raise CommandError(f"{admin} is not a system administrator")
        try:
            account_request = create_account_request(
                name=name,
                cisco_smart_account=smart_account,
                cisco_virtual_account=virtual_account,
                notification_email=email,
                by_user=user,
            )
            account = approve_account_request(account_request, user)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(
            f"Account {account.name} created and registered with Cisco Software Central "
            f"({account.cisco_smart_account} / {account.cisco_virtual_account})"
        )
