"""What the security services share."""

import logging

logger = logging.getLogger("security.services")

SINGLETON = 1  # the id of the single row of Host Common Name and Account Password settings
