"""The HTTP client model calls share, in the app's process or in the stream reader's."""

from __future__ import annotations

import contextlib

import httpx

from workbench.domain import ProviderConfig
from workbench.providers import errors
from workbench.providers.base import loopback_mounts, tls_context


def make_client(max_streams: int = 10, *, ca_bundle: str | None = None) -> httpx.AsyncClient:
    """The one shared AsyncClient: enough connections for every pane at once.

    Proxies come from the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY: httpx's
    ``trust_env``), but loopback hosts always go direct. The CA bundle is SSL_CERT_FILE,
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE if set, else certifi's, plus ``ca_bundle`` if given.
    """
    limits = httpx.Limits(max_connections=max(20, max_streams * 2), max_keepalive_connections=max_streams)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(connect=10.0, read=300.0, write=30.0, pool=30.0),
        limits=limits,
        verify=tls_context(ca_bundle),
        trust_env=True,
        mounts=loopback_mounts(),
    )


def client_for(client: httpx.AsyncClient, provider: ProviderConfig) -> contextlib.AbstractAsyncContextManager:
    """The shared client, or one of its own for a provider that trusts an extra CA: the CA is a
    property of the TLS context, which httpx fixes per client."""
    if provider.ca_bundle:
        try:
            return make_client(1, ca_bundle=provider.ca_bundle)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: a file gone or not PEM
            raise errors.ConnectError(f"TLS failure (cannot use ca_bundle {provider.ca_bundle}: {exc})") from None
    return contextlib.nullcontext(client)
