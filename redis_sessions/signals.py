"""Signals of the app.

``sessions_evicted``: sent after each atomic cleaning step of ``clean_sessions`` (and
of ``clearsessions``), with exactly what that step removed. Keyword arguments:

* ``session_keys``: ``list[str]``, the sessions removed;
* ``user_ids``: ``dict[str, str]``, session key -> user id, for the logged-in ones;
* ``carts``: ``dict[str, dict[str, int]]``, session key -> its anonymous cart
  (item id -> quantity), for the sessions whose cart was not empty. The carts are read
  inside the same atomic step as the removal, and only when a receiver is connected
  (otherwise the step skips the reads and this is ``{}``);
* ``reason``: ``"limit"`` (beyond ``SESSION_LIMIT``) or ``"expired"`` (data expired).

The sender is ``redis_sessions.sessions.Evicted`` (the class of a step's result).
Receivers run in the
cleaning process, between batches: keep them short. An exception in a receiver is
logged and does not stop the cleaner (the sessions are already gone).
"""

from __future__ import annotations

from django.dispatch import Signal

sessions_evicted = Signal()
