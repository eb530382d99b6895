"""sse-starlette as the live streams use it: its undocumented parts, each with why.

- `SendTimeoutError` comes from `sse_starlette.sse`; the package does not export it. It is what
  `EventSourceResponse.__call__` raises once a send has blocked for `send_timeout` (a reader that
  stopped reading); the streams catch it to count a dropped reader rather than log an error.
- `EventSourceResponse.__call__` runs for exactly as long as the stream is sent and returns (or
  raises) however it ends: client gone, send timeout, shutdown. The streams subclass it and hold
  their connection-limit slot around `super().__call__`, which is why the limit is counted there.
- On server exit the library sets `shutdown_event` and waits `shutdown_grace_period` for the
  generator to send its last event (the farewell); without them it cuts streams with no final chunk.
  It notices the exit by finding uvicorn's Server behind the SIGTERM handler and polling its
  `should_exit` every 0.5 s, so the farewell goes out up to half a second after the signal.
"""

from __future__ import annotations

from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import SendTimeoutError

__all__ = ["EventSourceResponse", "SendTimeoutError", "ServerSentEvent"]
