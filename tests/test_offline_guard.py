"""The shared no_network fixture: the hub cannot be reached from a test that uses it, loopback still can."""

from __future__ import annotations

import socket

import pytest


def test_no_network_stops_name_lookups_and_outside_connections(no_network):
    with pytest.raises(AssertionError, match="look up the network name 'huggingface.co'"):
        socket.getaddrinfo("huggingface.co", 443)
    with socket.socket() as sock, pytest.raises(AssertionError, match=r"connection to \('192\.0\.2\.1', 443\)"):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1, never routed: a raw connect skips the name lookup


def test_no_network_leaves_loopback_working(no_network):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("localhost", port), timeout=5) as client:
            peer, _ = server.accept()
            with peer:
                client.sendall(b"ok")
                assert peer.recv(2) == b"ok"
