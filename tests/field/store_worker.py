"""A handset process for the kill tests: captures reads into a local store, one per
line of output, until it is killed. ``python store_worker.py DB REGISTER_ID COUNT``.
With ``--build-batch`` it builds the outbound batch, says so, and waits to be killed."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from field_app.local_store import LocalStore

if __name__ == "__main__":
    store = LocalStore(sys.argv[1])
    if sys.argv[2] == "--build-batch":
        batch = store.outbound_batch(max_items=500, created_at=datetime.now(UTC))
        print(f"batch {batch[0] if batch else None}", flush=True)
        time.sleep(600)
    register_id, count = int(sys.argv[2]), int(sys.argv[3])
    for n in range(count):
        read_uuid = store.capture_read(
            register_id=register_id, value_milli=10_500_000 + n, captured_at=datetime.now(UTC)
        )
        print(read_uuid, flush=True)  # committed before it is printed
