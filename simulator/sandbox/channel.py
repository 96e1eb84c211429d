"""The control channel between the supervisor and one part's process: calls both ways over a socket pair.

Design rule: a frame is a 4-byte length and a pickle. Both ends are this package, in processes the
supervisor started over a socket pair nothing else holds, so pickle is safe here and nowhere else.
A call names a public method of the other end's targets and gets its result, or the error it raised
(re-raised here; an error that cannot cross becomes `RemoteError` with its text). Calls run as tasks in
the order they arrive, so calls without an `await` (a commit) take effect in order. The end of the
stream fails every call still waiting with `ChannelClosed`: a part that vanished is an error, never a hang.
Sending is bounded: one frame at a time, each written and then drained (the transport's buffer down to
its low-water mark) before the next, in the order asked (`asyncio.Lock` is fair), so a large reply or a
peer that reads slowly holds up the senders instead of growing the buffer. Closing never waits on
the other end: what is already written gets `CLOSE_DRAIN_SECONDS` to drain, then the connection is
dropped, so a peer that stopped reading can neither keep it open nor leave a reply waiting for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import pickle
import struct
from typing import Any

from simulator.core.errors import PartUnavailable, SimulatorError

HEADER = struct.Struct("!I")
#: Seconds `Channel.close` lets frames already written drain before it drops the connection: our
#: choice, long enough for a reading peer to take a last reply, short enough for a supervisor to stop.
CLOSE_DRAIN_SECONDS = 1.0


class ChannelClosed(PartUnavailable):
    """The other end went away (its process ended) before it answered."""


class RemoteError(SimulatorError):
    """The other end raised an error that cannot be sent as itself; its type and text."""


class Channel:
    """One end of a control channel: `call` the other end; `serve` answers its calls with `targets`."""

    def __init__(self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 *targets: object, close_drain: float = CLOSE_DRAIN_SECONDS) -> None:
        self.name, self._close_drain = name, close_drain
        self._reader, self._writer, self._targets = reader, writer, targets
        self._numbers = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._sending = asyncio.Lock()
        self.closed = asyncio.Event()

    async def call(self, method: str, *args: Any) -> Any:
        """Call `method(*args)` on the other end; its result, or its error raised here."""
        if self.closed.is_set():
            raise ChannelClosed(f"{self.name} is not running")
        number = next(self._numbers)
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[number] = answer
        try:
            await self._send(frame(("call", number, (method, args))))
            return await answer
        except ConnectionError:
            raise ChannelClosed(f"{self.name} went away before it answered") from None
        finally:
            self._waiting.pop(number, None)
            if answer.done() and not answer.cancelled():
                answer.exception()  # read: a failure that ended the send is not "never retrieved"
            else:
                answer.cancel()

    async def serve(self) -> None:
        """Read frames until the other end goes away: answers to our calls, and its calls to us."""
        try:
            while True:
                kind, number, payload = await self._read()
                if kind == "reply":
                    self._answered(number, payload)
                else:
                    task = asyncio.create_task(self._answer(number, *payload))
                    self._running.add(task)
                    task.add_done_callback(self._running.discard)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.closed.set()
            for answer in self._waiting.values():
                if not answer.done():
                    answer.set_exception(ChannelClosed(f"{self.name} went away before it answered"))

    def close(self) -> None:
        """Close without waiting: what is written gets `close_drain` seconds to reach the other end, then
        the connection is dropped (a peer that reads nothing would otherwise keep it open for ever)."""
        transport = self._writer.transport
        self._writer.close()
        if transport.get_write_buffer_size():  # else the transport closes at once
            asyncio.get_running_loop().call_later(self._close_drain, transport.abort)

    async def _read(self) -> tuple[str, int, Any]:
        (size,) = HEADER.unpack(await self._reader.readexactly(HEADER.size))
        frame: tuple[str, int, Any] = pickle.loads(await self._reader.readexactly(size))
        return frame

    async def _send(self, data: bytes) -> None:
        """Write the frame `data` once the frames before it have drained, then wait for it to drain too."""
        async with self._sending:
            self._writer.write(data)
            await self._writer.drain()

    def _answered(self, number: int, payload: tuple[bool, Any]) -> None:
        answer = self._waiting.get(number)
        if answer is None or answer.done():
            return
        ok, value = payload
        if ok:
            answer.set_result(value)
        else:
            answer.set_exception(value)

    async def _answer(self, number: int, method: str, args: tuple[Any, ...]) -> None:
        try:
            result = self._method(method)(*args)
            if inspect.isawaitable(result):
                result = await result
            payload: tuple[bool, Any] = (True, result)
        except Exception as error:  # sent to the caller, who raises it
            payload = (False, crossing(error))
        try:
            data = frame(("reply", number, payload))
        except Exception as error:  # a result that cannot cross: the caller learns why, never waits on
            data = frame(("reply", number, (False, RemoteError(f"the answer cannot be sent: "
                                                               f"{type(error).__name__}: {error}"))))
        if not self.closed.is_set():
            with contextlib.suppress(ConnectionError):  # the caller went away: nobody to answer
                await self._send(data)

    def _method(self, name: str) -> Any:
        if not name.startswith("_"):
            for target in self._targets:
                if callable(found := getattr(target, name, None)):
                    return found
        raise AttributeError(f"{self.name} has no control method {name!r}")


def frame(content: tuple[str, int, Any]) -> bytes:
    """One frame: the 4-byte length and the pickle of `content`."""
    data = pickle.dumps(content, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def crossing(error: Exception) -> Exception:
    """`error` itself if it survives a pickle round trip, else a `RemoteError` with its type and text."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RemoteError(f"{type(error).__name__}: {error}")
    return error
