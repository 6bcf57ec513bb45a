"""Task-state events: when a task this server follows changes (created, running, finished, its
outputs saved, cancelled), `TaskEvents.task_changed` says so on the server's `SubscriptionBus`, as
"the resource runway://task/<id> changed". Clients hear it:
- on 2026-07-28, through `subscriptions/listen` with that URI in `resourceSubscriptions` (the SDK's
  `ListenHandler` filters and stamps it);
- on handshake-era versions, after `resources/subscribe` on that URI (`subscriptions.py`);
- on another replica, when the journal is PostgreSQL (`pgbus.py` carries the bus between them).

An event is a level trigger ("read it again"), so one per change of state is enough: the status,
whether the outputs are saved, and while running each quarter of the progress (a few events per
task, not one per poll). Repeats of a state are not sent again (per process; another replica may
repeat one, which only makes a client read once more)."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Optional

from mcp.server.subscriptions import ResourceUpdated, SubscriptionBus

log = logging.getLogger("runway_mcp_server")

TASK_URI = "runway://task/"
_REMEMBERED = 10_000


def task_uri(task_id: str) -> str:
    """The resource a client follows a task by: `runway://task/<id>` (its status, as JSON)."""
    return f"{TASK_URI}{task_id}"


class TaskEvents:
    """Publishes task changes on `bus`; without one (a script using the service alone) a no-op."""

    def __init__(self, bus: Optional[SubscriptionBus] = None) -> None:
        self.bus = bus
        self._last: OrderedDict[str, tuple[str, int, bool]] = OrderedDict()

    async def task_changed(self, task_id: str, status: Optional[str], *, progress: Optional[float] = None,
                           saved: bool = False) -> None:
        """Task `task_id` is now `status` (a Runway state, or SUBMITTED just after the create), at
        `progress` (0..1, while RUNNING); `saved`: its outputs were saved. Never raises: a client
        that misses an event reads the task when it looks again."""
        if self.bus is None or not task_id:
            return
        status = status or "SUBMITTED"
        quarter = min(int(progress * 4), 3) if status == "RUNNING" and progress is not None else -1
        last = self._last.get(task_id)
        # Once saved, a finished task's later reports (without the flag) are the same state.
        saved = saved or (last is not None and last[2] and last[0] == status)
        state = (status, quarter, saved)
        if last == state:
            return
        self._last[task_id] = state
        self._last.move_to_end(task_id)
        while len(self._last) > _REMEMBERED:
            self._last.popitem(last=False)
        try:
            await self.bus.publish(ResourceUpdated(uri=task_uri(task_id)))
        except Exception as e:  # the bus is a boundary (a database elsewhere): the task goes on regardless
            log.warning("could not publish the change of task %s (%s): %s", task_id, state[0], e)
