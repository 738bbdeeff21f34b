"""HA services, by concern: the cluster state collector (observation, snapshot), the
widget's picture (status), the no-active-server alert and tracked HA jobs.

The collector runs on the active node (Celery beat lives there). It reads the node's own
truth (crm_mon XML, pg_stat_replication), compares it with the stored snapshot and writes
the new snapshot and one event-log entry per transition in one transaction. The stored
state is what the widget shows, from either node. The public names are importable from here.
"""

from .alerts import (
    alert_no_active_server,
    record_no_active_server,
    record_when_the_database_answers,
    system_administrator_emails,
)
from .common import HA, JOB_STALE_AFTER, PROMOTED_ROLES, UNPROMOTED_ROLES, ha_event
from .jobs import JobReporter, fail_stale_jobs, finish_job, start_job
from .observation import (
    NodeObservation,
    Observation,
    SystemInfo,
    build_observation,
    interval_seconds,
    local_system_info,
    node_role,
    observe,
)
from .operations import (
    OPERATIONS,
    OperationRefused,
    claim_operation,
    node_in_maintenance,
    offered_operations,
    operation_refusal,
    primary_node_name,
    running_operation,
    start_operation,
)
from .rehearsal import rehearsal_reports, run_operation, stall_chart
from .snapshot import apply_observation, collect_cluster_state, record_local_system_info
from .status import cluster_status, ha_enabled, ha_events, is_stale, server_cards

__all__ = [
    "HA",
    "OPERATIONS",
    "OperationRefused",
    "claim_operation",
    "node_in_maintenance",
    "offered_operations",
    "operation_refusal",
    "primary_node_name",
    "rehearsal_reports",
    "run_operation",
    "running_operation",
    "stall_chart",
    "start_operation",
    "JOB_STALE_AFTER",
    "JobReporter",
    "NodeObservation",
    "Observation",
    "PROMOTED_ROLES",
    "SystemInfo",
    "UNPROMOTED_ROLES",
    "alert_no_active_server",
    "apply_observation",
    "build_observation",
    "cluster_status",
    "collect_cluster_state",
    "fail_stale_jobs",
    "finish_job",
    "ha_enabled",
    "ha_event",
    "ha_events",
    "interval_seconds",
    "is_stale",
    "local_system_info",
    "node_role",
    "observe",
    "record_local_system_info",
    "record_no_active_server",
    "record_when_the_database_answers",
    "server_cards",
    "start_job",
    "system_administrator_emails",
]
