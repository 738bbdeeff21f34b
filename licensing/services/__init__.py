"""State changes of the licensing app, by concern. Views, the Transport Gateway, the API and
commands call these functions; each validates, writes inside one transaction and records the
event. The public names are importable from here (`from licensing.services import create_token`)."""

from .alerts import (
    Alert,
    account_alerts,
    dismiss_alert,
    notify_alerts,
    preferences,
    save_alert_preferences,
)
from .api_clients import (
    client_for_access_token,
    create_api_client,
    issue_access_token,
    revoke_api_client,
)
from .ca import (
    ca_key,
    cached_ca,
    cached_chain,
    cached_host_common_name,
    install_product_ca_certificate,
    product_ca,
    product_ca_chain,
    product_ca_csr,
)
from .common import (
    ACCESS_TOKEN_SECONDS,
    AUTHORIZATION_DAYS,
    CACHE_SECONDS,
    MAX_TOKEN_USES,
    RENEW_AFTER_DAYS,
    TOKEN_MAX_DAYS,
    TOKEN_MIN_DAYS,
    LicensingError,
    cached,
    clear_cache,
)
from .conversion import convert_licenses, convertible_licenses
from .instances import remove_instance, transfer_instance
from .licenses import (
    account_license_rows,
    license_name,
    license_names,
    license_rows,
    recount_licenses,
    sync_report,
)
from .messages import handle_message, handle_signed, purge_used_nonces
from .registration import certificate_body, check_ca_name, instance_name, register_product
from .rum import acknowledge_rum_reports, pending_rum_reports, receive_rum_reports
from .tokens import create_token, revoke_token
from .transfers import transfer_licenses, transferable
from .usage import add_to_counters, release, set_usage

__all__ = [
    "Alert",
    "account_alerts",
    "dismiss_alert",
    "notify_alerts",
    "preferences",
    "save_alert_preferences",
    "ACCESS_TOKEN_SECONDS",
    "AUTHORIZATION_DAYS",
    "CACHE_SECONDS",
    "LicensingError",
    "MAX_TOKEN_USES",
    "RENEW_AFTER_DAYS",
    "TOKEN_MAX_DAYS",
    "TOKEN_MIN_DAYS",
    "account_license_rows",
    "acknowledge_rum_reports",
    "add_to_counters",
    "ca_key",
    "cached",
    "cached_ca",
    "cached_chain",
    "cached_host_common_name",
    "certificate_body",
    "check_ca_name",
    "clear_cache",
    "client_for_access_token",
    "create_api_client",
    "convert_licenses",
    "convertible_licenses",
    "create_token",
    "handle_message",
    "handle_signed",
    "install_product_ca_certificate",
    "instance_name",
    "issue_access_token",
    "license_name",
    "license_names",
    "license_rows",
    "product_ca",
    "product_ca_chain",
    "product_ca_csr",
    "pending_rum_reports",
    "purge_used_nonces",
    "receive_rum_reports",
    "recount_licenses",
    "register_product",
    "release",
    "remove_instance",
    "revoke_api_client",
    "revoke_token",
    "set_usage",
    "sync_report",
    "transfer_instance",
    "transfer_licenses",
    "transferable",
]
