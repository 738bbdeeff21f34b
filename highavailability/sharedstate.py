"""What both nodes share, when it changes on a running cluster (a restore): SECRET_KEY,
PRODUCT_CA_ENCRYPTION_KEY and the Browser Certificate.

ha_deploy hands them to the standby over SSH once. Afterwards the node that changes them
publishes them in the database (replicated, reachable through the VIP), sealed with the
cluster's own key (corosync's authkey: on both nodes, never in the database, so a database
dump alone does not open them). A node adopts a newer publication when its application
starts (ssm-app's start runs ha_adopt): the other node's at the restart that follows the
publication, or when it rejoins if it was away.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from . import formation
from .cluster import ClusterError, Say
from .models import SharedState


def _cluster_key() -> Fernet:
    path = settings.HA_COROSYNC_CONF.with_name("authkey")
    try:
        secret = path.read_bytes()
    except OSError as exc:
        raise ClusterError(
            f"Error: cannot read the cluster's key {path} ({exc.strerror}): run this as root "
            "on a cluster member"
        ) from None
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"ssm shared state"
    ).derive(secret)
    return Fernet(base64.urlsafe_b64encode(derived))


def _generation_file() -> Path:
    return Path(settings.SSM_VAR) / "shared-state.generation"


def adopted_generation() -> str:
    """The generation this node runs with ("" when it never adopted one)."""
    try:
        return _generation_file().read_text().strip()
    except OSError:
        return ""


def _remember(generation: str) -> None:
    path = _generation_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(generation + "\n")


def publish(state: dict) -> str:
    """Publish `state` (formation.shared_state's shape) for the other node; this node already
    runs with it. Returns the new generation."""
    generation = uuid.uuid4().hex
    sealed = _cluster_key().encrypt(json.dumps(state).encode()).decode()
    SharedState.objects.update_or_create(
        pk=1, defaults={"generation": generation, "sealed": sealed}
    )
    _remember(generation)
    return generation


def adopt_published(say: Say) -> bool:
    """Adopt the published state when it is newer than what this node runs with; True when
    adopted. A publication this cluster's key cannot open (another cluster's) is left."""
    row = SharedState.objects.filter(pk=1).first()
    if row is None or row.generation == adopted_generation():
        say("Shared state: this node is up to date")
        return False
    try:
        state = json.loads(_cluster_key().decrypt(row.sealed.encode()))
    except InvalidToken:
        say(
            f"Shared state {row.generation} is sealed with another cluster's key: not adopted "
            "(restore the backup again on the active node)"
        )
        return False
    formation.adopt_shared_state(state, say)
    _remember(row.generation)
    say(f"Shared state {row.generation} of {row.published:%Y-%m-%d %H:%M:%S} UTC adopted")
    return True
