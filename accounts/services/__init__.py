"""State changes of the accounts app. Every change that matters goes through here.

Each function validates, writes inside one transaction together with its event-log row,
and queues follow-up work (Celery, e-mail) with transaction.on_commit. Calls to Cisco
Software Central go through accounts.csc_client, always outside a database transaction,
and what they return is applied in one transaction so a failure leaves nothing
half-applied.
"""

from .account_requests import (
    approve_account_request,
    create_account_request,
    reject_account_request,
)
from .connectivity import check_cisco_connection, save_cisco_connection
from .local_accounts import (
    create_local_account,
    create_virtual_account,
    delete_local_account,
    satellite,
    set_local_account_active,
    set_unsigned_rum_reports,
    update_local_account,
)
from .users import (
    create_user,
    delete_user,
    one_time_password_in_use,
    remove_account_role,
    reset_password,
    set_account_role,
    set_system_role,
    set_user_active,
    update_user,
)

__all__ = [
    "check_cisco_connection",
    "save_cisco_connection",
    "approve_account_request",
    "create_account_request",
    "create_local_account",
    "create_user",
    "create_virtual_account",
    "delete_local_account",
    "delete_user",
    "one_time_password_in_use",
    "reject_account_request",
    "reset_password",
    "remove_account_role",
    "satellite",
    "set_local_account_active",
    "set_unsigned_rum_reports",
    "set_account_role",
    "set_system_role",
    "set_user_active",
    "update_local_account",
    "update_user",
]
