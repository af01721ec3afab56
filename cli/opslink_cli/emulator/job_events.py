"""The emulator announcing local jobs' ends, as EventBridge does for Run Command.

A local job writes `status.json` into its directory when it ends (local_runner). This
watcher notices it within a fraction of a second and invokes the remediate function with
a "Job State Change" event (source opslink.jobs), the way the template's rule delivers
an SSM command's end: the waiting execution wakes at once instead of at its next poll.
`drop` loses every event (a platform whose notifications never arrive) to exercise the
safety-net poll; `duplicate` delivers each twice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opslink.job_events import job_state_change

SOURCE = "opslink.jobs"


class JobEndWatcher:
    def __init__(
        self,
        jobs_dir: Path,
        deliver: Callable[[dict[str, Any]], None],
        interval: float = 0.1,
        drop: bool = False,
        duplicate: bool = False,
    ) -> None:
        self.jobs_dir = jobs_dir
        self.deliver = deliver
        self.interval = interval
        self.drop = drop
        self.duplicate = duplicate
        self.delivered: list[str] = []  # job ids, in the order their ends were announced
        self.failures: list[str] = []
        self._seen = set(self._ended())  # ends from before this stack: not news
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="opslink-job-ends", daemon=True)

    def start(self) -> JobEndWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _ended(self) -> list[str]:
        if not self.jobs_dir.is_dir():
            return []
        return sorted(p.parent.name for p in self.jobs_dir.glob("*/status.json"))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for job_id in self._ended():
                if job_id in self._seen:
                    continue
                self._seen.add(job_id)
                if not self.drop:
                    self._announce(job_id)

    def _announce(self, job_id: str) -> None:
        try:
            doc = json.loads((self.jobs_dir / job_id / "status.json").read_text())
            event = job_state_change("local", job_id, SOURCE, str(doc.get("state", "")))
            for _ in range(2 if self.duplicate else 1):
                self.deliver(event)
            self.delivered.append(job_id)
        except Exception as exc:  # the execution's safety-net poll still finds the job
            self.failures.append(f"{job_id}: {exc!r}"[:300])
