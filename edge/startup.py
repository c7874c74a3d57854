"""Fail fast, in one line, on anything that would stop the server from serving."""
from __future__ import annotations

import errno
import socket

from edge.profiles import ProfileError, load_profiles
from edge.settings import Settings
from edge.state import load
from manifests.catalog import CatalogError
from manifests.token import Signer


class StartupError(Exception):
    pass


def check_startup(settings: Settings) -> None:
    try:
        signer = Signer(dict(settings.signing_keys), settings.active_key)
    except ValueError as exc:
        raise StartupError(f"signing keys: {exc}") from None
    try:
        load(settings.catalog, signer, settings.cadences)
    except CatalogError as exc:
        raise StartupError(f"catalog {settings.catalog}: {exc}") from None
    if settings.profiles is not None:
        try:
            load_profiles(settings.profiles)
        except OSError as exc:
            raise StartupError(f"profiles {settings.profiles}: {exc.strerror}") from None
        except ProfileError as exc:
            raise StartupError(str(exc)) from None
    with socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.host, settings.port))
        except OSError as exc:
            reason = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise StartupError(f"cannot listen on {settings.host}:{settings.port}: {reason}") from None
