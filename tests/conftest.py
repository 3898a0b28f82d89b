"""Shared test set-up: no test may reach the network or a model hub."""

import os
import socket

import pytest

# forced, not defaulted: a shell that exported HF_HUB_OFFLINE=0 must not let a test try the hub
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture
def no_network(monkeypatch):
    """Any name lookup or connection beyond this machine fails the test at once (loopback and unix sockets
    still work): a hub download starts with resolving the hub's name, so it is stopped before any packet."""
    connect, resolve = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(sock, address):
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            raise AssertionError(f"the test tried to open a network connection to {address}")
        return connect(sock, address)

    def guarded_resolve(host, *args, **kwargs):
        if host is not None and str(host) not in LOOPBACK:
            raise AssertionError(f"the test tried to look up the network name {host!r}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_resolve)
