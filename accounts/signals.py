"""What the accounts app announces to the floors above it (they connect in their AppConfig)."""

from django.dispatch import Signal

# Sent once a newly approved local account's transaction has committed (kwarg: account,
# by_user): the synchronization app queues its first synchronization.
local_account_approved = Signal()
