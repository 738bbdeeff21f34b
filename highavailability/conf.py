"""Settings of a cluster node, from the environment (the server's env file is already read).

HA_PG_BIN, HA_PG_DATA, HA_PG_SOCKET_DIR, HA_PG_PORT: the PostgreSQL instance that pacemaker
(PAF) manages on this node. HA_VIP (with HA_VIP_PREFIXLEN on HA_VIP_NIC): the virtual
address. HA_COROSYNC_CONF, HA_CIB_DIR, HA_RUN_DIR: where the cluster keeps its
configuration and pid files. HA_KEY_DIR: this node's cluster key pair and known hosts
(ha_generatekeys); HA_AUTHORIZED_KEYS: where ha_provision_standby lets the primary in.
The rest are the cluster's timing, fencing and quorum-device choices that ha_deploy writes
into corosync.conf and the CIB (docs/ha.md explains each value).
"""

from pathlib import Path

import environ
from django.conf import settings

env = environ.Env()

PG_BIN = Path(env.str("HA_PG_BIN", default="/usr/lib/postgresql/15/bin"))
PG_DATA = Path(env.str("HA_PG_DATA", default="/var/lib/postgresql/15/ha"))
PG_SOCKET_DIR = env.str("HA_PG_SOCKET_DIR", default="/run/postgresql")
PG_PORT = env.int("HA_PG_PORT", default=5432)
VIP = env.str("HA_VIP", default="")
VIP_PREFIXLEN = env.int("HA_VIP_PREFIXLEN", default=24)
VIP_NIC = env.str("HA_VIP_NIC", default="eth0")
COROSYNC_CONF = Path(env.str("HA_COROSYNC_CONF", default="/etc/corosync/corosync.conf"))
CIB_DIR = Path(env.str("HA_CIB_DIR", default="/var/lib/pacemaker/cib"))
RUN_DIR = Path(env.str("HA_RUN_DIR", default="/run"))

KEY_DIR = Path(env.str("HA_KEY_DIR", default=str(settings.SSM_VAR / "ha")))
AUTHORIZED_KEYS = Path(env.str("HA_AUTHORIZED_KEYS", default="/root/.ssh/authorized_keys"))
# where the application resource finds <node name>/app/ssm.env on every node
APP_STATE_DIR = Path(env.str("HA_APP_STATE_DIR", default=str(settings.SSM_VAR.parent.parent)))
# networks allowed to reach PostgreSQL (replication and the application), space separated
TRUSTED_NETWORKS = env.str("HA_TRUSTED_NETWORKS", default="").split()

COROSYNC_TOKEN = env.int("HA_COROSYNC_TOKEN", default=2000)
COROSYNC_CONSENSUS = env.int("HA_COROSYNC_CONSENSUS", default=2400)
DC_DEADTIME = env.str("HA_DC_DEADTIME", default="3s")
PG_MONITOR_PROMOTED = env.str("HA_PG_MONITOR_PROMOTED", default="15s")
PG_MONITOR_UNPROMOTED = env.str("HA_PG_MONITOR_UNPROMOTED", default="16s")
FENCE_AGENT = env.str("HA_FENCE_AGENT", default="")
FENCE_PARAMS = env.str("HA_FENCE_PARAMS", default="").split()
STONITH_ACTION = env.str("HA_STONITH_ACTION", default="off")
PRIORITY_FENCING_DELAY = env.str("HA_PRIORITY_FENCING_DELAY", default="5s")
QDEVICE_HOST = env.str("HA_QDEVICE_HOST", default="")
QDEVICE_PORT = env.int("HA_QDEVICE_PORT", default=5403)
QDEVICE_TIMEOUT = env.int("HA_QDEVICE_TIMEOUT", default=3000)
QDEVICE_SYNC_TIMEOUT = env.int("HA_QDEVICE_SYNC_TIMEOUT", default=6000)
DEPLOY_TIMEOUT = env.int("HA_DEPLOY_TIMEOUT", default=240)
# CPU niceness of pacemaker and what it starts (the application agent resets its own to 0)
CLUSTER_NICE = env.int("HA_CLUSTER_NICE", default=-10)
