"""Helpers shared by the unit tests."""

import asyncio
import contextlib
import threading

from tornado import httpserver, ioloop, netutil


@contextlib.contextmanager
def serving(app):
    """A tornado app on 127.0.0.1 in a thread with its own event loop: its URL."""
    [sock] = netutil.bind_sockets(0, "127.0.0.1")
    started = threading.Event()
    loops = []

    def serve():
        asyncio.set_event_loop(asyncio.new_event_loop())
        server = httpserver.HTTPServer(app)
        server.add_sockets([sock])
        loops.append(ioloop.IOLoop.current())
        started.set()
        loops[0].start()

    threading.Thread(target=serve, daemon=True).start()
    started.wait(5)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        loops[0].add_callback(loops[0].stop)
