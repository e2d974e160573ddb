"""`benchmarks.server.listeners` counts the sockets listening on a port (the benchmarks wait for every HTTP
worker's before the clients connect): sockets bound with `SO_REUSEPORT` like the workers' (`api.server.bind`),
not counting one that is only bound."""

from __future__ import annotations

from cunguan.api.server import bind
from cunguan.benchmarks.server import free_port, listeners


def test_listeners_counts_each_listening_socket_of_the_port() -> None:
    port = free_port()
    assert listeners(port) == 0
    first = bind("127.0.0.1", port)
    bound_only = bind("127.0.0.1", port, listen=False)
    try:
        assert listeners(port) == 1
        second = bind("127.0.0.1", port)
        try:
            assert listeners(port) == 2
        finally:
            second.close()
        assert listeners(port) == 1
    finally:
        first.close()
        bound_only.close()
    assert listeners(port) == 0
