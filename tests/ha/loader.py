"""Registration load through the VIP; runs inside the lab's client namespace.

    python tests/ha/loader.py URL TOKEN PREFIX LOG STOPFILE

Registers one new synthetic product after another (a fresh HTTPS connection after any
failure) until STOPFILE exists. One line per attempt, with the attempt's start time:
    <t> OK <serial> <instance>      acknowledged: the server answered SUCCESS
    <t> FAIL <serial> <reason>
Imports only the product simulator (no Django, no database).
"""

import os
import sys
import time
from pathlib import Path

import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from licensing.simulator import Client, Device  # noqa: E402

# (connect, read) seconds: while no node holds the VIP a connect hangs until its timeout, so
# a short one lets the load notice the new primary within ~0.7 s instead of ~3.2 s
TIMEOUT = (0.5, 3)


def main() -> None:
    url, token, prefix, log_path, stop_path = sys.argv[1:6]
    # requests lets these variables override verify=False (the lab's certificate is self-signed)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(name, None)
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    client = Client(url, verify=False, timeout=TIMEOUT)
    index = 0
    with open(log_path, "a", buffering=1) as log:
        while not Path(stop_path).exists():
            device = Device.synthetic(index, prefix)
            index += 1
            started = time.time()
            try:
                data = client.register(device, token)
                log.write(f"{started:.3f} OK {device.sn} {data['instance']}\n")
            except Exception as exc:  # noqa: BLE001 - every failure is a data point
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
                log.write(f"{started:.3f} FAIL {device.sn} {reason}\n")
                client.close()
                client = Client(url, verify=False, timeout=TIMEOUT)
                time.sleep(0.2)
            time.sleep(0.05)
    client.close()


if __name__ == "__main__":
    main()
