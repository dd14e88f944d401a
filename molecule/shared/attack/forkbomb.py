"""A bounded fork bomb: children sleep 10 s, the parent forks until refused."""

import os
import time

made = 0
try:
    for _ in range(5000):
        if os.fork() == 0:
            time.sleep(10)
            os._exit(0)
        made += 1
    print(f"forkbomb: never stopped, {made} processes")
except OSError as error:
    print(f"forkbomb: stopped after {made} processes: {error.strerror}")
