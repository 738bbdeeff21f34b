"""Settings of a cluster node, from the environment (the server's env file is already read).

HA_PG_BIN, HA_PG_DATA, HA_PG_SOCKET_DIR, HA_PG_PORT: the PostgreSQL instance that pacemaker
(PAF) manages on this node. HA_VIP: the virtual address. HA_COROSYNC_CONF, HA_CIB_DIR,
HA_RUN_DIR: where the cluster keeps its configuration and pid files.
"""

from pathlib import Path

import environ

env = environ.Env()

PG_BIN = Path(env.str("HA_PG_BIN", default="/usr/lib/postgresql/15/bin"))
PG_DATA = Path(env.str("HA_PG_DATA", default="/var/lib/postgresql/15/ha"))
PG_SOCKET_DIR = env.str("HA_PG_SOCKET_DIR", default="/run/postgresql")
PG_PORT = env.int("HA_PG_PORT", default=5432)
VIP = env.str("HA_VIP", default="")
COROSYNC_CONF = Path(env.str("HA_COROSYNC_CONF", default="/etc/corosync/corosync.conf"))
CIB_DIR = Path(env.str("HA_CIB_DIR", default="/var/lib/pacemaker/cib"))
RUN_DIR = Path(env.str("HA_RUN_DIR", default="/run"))
