"""State changes of the synchronization app, by concern; the public names are importable
from here (`from synchronization.services import request_synchronization`)."""

from .jobs import SYNC_SUCCESS_ALERT, apply_sync_response
from .manual import export_manual_sync_request, import_manual_sync_response
from .network import (
    due_accounts,
    queue_due_synchronizations,
    queue_first_synchronization,
    request_synchronization,
    run_synchronization,
    set_sync_mode,
)
from .product_certificate import (
    install_product_certificate,
    product_certificate_csr,
    resynchronize_product_certificate,
)

__all__ = [
    "SYNC_SUCCESS_ALERT",
    "apply_sync_response",
    "due_accounts",
    "export_manual_sync_request",
    "import_manual_sync_response",
    "install_product_certificate",
    "product_certificate_csr",
    "queue_due_synchronizations",
    "queue_first_synchronization",
    "request_synchronization",
    "resynchronize_product_certificate",
    "run_synchronization",
    "set_sync_mode",
]
