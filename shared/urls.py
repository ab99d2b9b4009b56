"""URLs the service itself calls (knowledge base files it fetches, webhook endpoints it
posts to): http(s) only, and no private, loopback or link-local target unless the operator
allows them (ALLOW_PRIVATE_URLS), so a client cannot point the service at its own network."""

import ipaddress
import socket
from urllib.parse import urlsplit


class RefusedUrl(ValueError):
    """A URL the service will not call."""


def check_url(url: str, allow_private: bool) -> None:
    """Refuses what is not http(s), and hosts that resolve into private, loopback,
    link-local or otherwise non-public addresses (unless allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedUrl(f"{url[:200]}: only http and https URLs are called")
    if allow_private:
        return
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(parts.hostname, None)}
    except OSError as exc:
        raise RefusedUrl(f"{parts.hostname}: cannot be resolved ({exc})") from None
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            raise RefusedUrl(
                f"{parts.hostname} resolves to {address}, not a public address "
                "(ALLOW_PRIVATE_URLS=true lets the service call such URLs)"
            )
