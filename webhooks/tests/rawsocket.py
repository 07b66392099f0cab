"""A raw TCP receiver on loopback, for answers http.server cannot give (trickles, floods)."""

from __future__ import annotations

import socket
import threading


def serve_once(handler):
    """A raw TCP receiver on loopback running ``handler(conn)`` for one connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    stats = {}

    def serve():
        conn, _ = server.accept()
        try:
            handler(conn, stats)
        except OSError:
            pass
        finally:
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return server, f"http://127.0.0.1:{server.getsockname()[1]}/hook", stats
