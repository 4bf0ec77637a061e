"""The four ways the connector gets a Salesforce session, each a small class with ``login()``.

simple-salesforce's ``SalesforceLogin`` builds every URL as ``https://{domain}.salesforce.com``,
which cannot reach a My Domain on another suffix (``.salesforce.mil``, ``.site.com``) or a loopback
test server. So we derive the login base URL ourselves (:func:`login_base_url`) and reuse its
lower-level ``token_login`` and ``soap_login`` with that URL and our own session (timeouts, CA
bundle, call count).

Secrets are kept as :class:`pydantic.SecretStr` (plain strings are wrapped) and left out of every
``repr``; login errors are rebuilt from the CRM's error code by :mod:`connectors.salesforce.errors`,
never from a request.
"""

from __future__ import annotations

import base64
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit
from xml.parsers.expat import ExpatError
from xml.sax.saxutils import escape

import jwt
from pydantic import SecretStr
from simple_salesforce.login import soap_login, token_login

from connectors.base import AuthError, ProtocolError

if TYPE_CHECKING:
    import requests

_OAUTH_ENDPOINT = "/services/oauth2/token"
_STANDARD_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
_JWT_LIFETIME = timedelta(minutes=3)


@dataclass(frozen=True, slots=True)
class SfSession:
    """A live session: the bearer token and the instance it is valid on (``https://host[:port]``)."""

    access_token: str = field(repr=False)
    instance_url: str


@runtime_checkable
class SalesforceAuth(Protocol):
    """How the connector obtains (and, when ``can_refresh``, renews) a session."""

    @property
    def can_refresh(self) -> bool:
        """Whether ``login`` can be called again to replace an expired session."""
        ...

    def login(self, session: requests.Session) -> SfSession:
        """Return a fresh session, using ``session`` for any HTTP call."""
        ...


def login_base_url(domain: str) -> str:
    """The login base URL for a ``SALESFORCE_DOMAIN`` setting.

    ``login``/``test`` and My Domain prefixes (``acme.my``, ``acme--uat.sandbox.my``: no dot, or
    ending in ``.my``) follow Salesforce's ``https://{domain}.salesforce.com``; anything with ``://``
    is used as is; any other ``host[:port]`` becomes ``https://host[:port]``.
    """
    value = domain.strip().rstrip("/")
    if not value:
        raise ValueError("SALESFORCE_DOMAIN is empty")
    if "://" in value:
        return value
    if ":" not in value and ("." not in value or value.endswith(".my")):
        return f"https://{value}.salesforce.com"
    return f"https://{value}"


login_url_for = login_base_url  # the name the settings wiring imports


def _conceal(obj: object, *names: str) -> None:
    """Wrap secrets given as plain strings in :class:`SecretStr` (frozen dataclasses)."""
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, SecretStr):
            object.__setattr__(obj, name, SecretStr(str(value)))


def _reveal(value: SecretStr | str) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _instance_url(sf_instance: object) -> str:
    """``token_login``/``soap_login`` return the instance without its scheme; put https back."""
    if not isinstance(sf_instance, str) or not sf_instance:
        raise ProtocolError("Salesforce login answered without an instance URL")
    return f"https://{sf_instance.rstrip('/')}"


def _token(
    session: requests.Session,
    login_url: str,
    data: dict[str, Any],
    consumer_key: str,
    headers: dict[str, str] | None = None,
) -> SfSession:
    """POST to the OAuth token endpoint through simple-salesforce's ``token_login``."""
    host = urlsplit(login_url).netloc
    with warnings.catch_warnings():
        # token_login warns with an authorize URL when the app is not approved; the error suffices.
        warnings.simplefilter("ignore")
        try:
            token, instance = token_login(login_url + _OAUTH_ENDPOINT, data, host, consumer_key, headers, None, session)
        except AttributeError:  # a 200 without instance_url: token_login calls None.replace
            raise ProtocolError("Salesforce token endpoint answered without an instance URL") from None
    if not isinstance(token, str) or not token:
        raise ProtocolError("Salesforce token endpoint answered without an access token")
    return SfSession(token, _instance_url(instance))


@dataclass(frozen=True, slots=True)
class TokenAuth:
    """A ready token (``SALESFORCE_INSTANCE_URL`` + ``SALESFORCE_ACCESS_TOKEN``): no renewal."""

    instance_url: str
    access_token: SecretStr | str = field(repr=False)
    can_refresh: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        """Keep the token as a SecretStr whatever the caller passed."""
        _conceal(self, "access_token")

    def login(self, session: requests.Session) -> SfSession:  # noqa: ARG002 - no HTTP needed
        """Hand back the token as given (an instance URL without a scheme gets https)."""
        url = self.instance_url.rstrip("/")
        return SfSession(_reveal(self.access_token), url if "://" in url else f"https://{url}")


def jwt_audience(login_url: str) -> str:
    """The JWT ``aud`` claim Salesforce expects for a login URL.

    ``https://login.salesforce.com`` or ``https://test.salesforce.com`` (exactly that form) when the
    login URL is on one of those hosts, else the login URL itself.
    """
    standard = f"https://{urlsplit(login_url).hostname or ''}"
    return standard if standard in _STANDARD_AUDIENCES else login_url.rstrip("/")


@dataclass(frozen=True, slots=True)
class JwtAuth:
    """OAuth 2.0 JWT bearer flow: an RS256 assertion signed with the connected app's private key."""

    username: str
    consumer_key: str
    private_key_pem: SecretStr | str = field(repr=False)
    login_url: str = "https://login.salesforce.com"
    audience: str | None = None
    can_refresh: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        """Keep the key as a SecretStr whatever the caller passed."""
        _conceal(self, "private_key_pem")

    def assertion(self, now: datetime | None = None) -> str:
        """The signed JWT (iss = consumer key, sub = username, aud, exp = now + 3 minutes)."""
        issued = now or datetime.now(UTC)
        claims = {
            "iss": self.consumer_key,
            "sub": self.username,
            "aud": self.audience or jwt_audience(self.login_url),
            "exp": int((issued + _JWT_LIFETIME).timestamp()),
        }
        return jwt.encode(claims, _reveal(self.private_key_pem), algorithm="RS256")

    def login(self, session: requests.Session) -> SfSession:
        """Exchange a fresh assertion for an access token."""
        data = {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": self.assertion(),
        }
        return _token(session, self.login_url.rstrip("/"), data, self.consumer_key)


@dataclass(frozen=True, slots=True)
class ClientCredentialsAuth:
    """OAuth 2.0 client-credentials flow (a My Domain login URL; the app names a run-as user)."""

    consumer_key: str
    consumer_secret: SecretStr | str = field(repr=False)
    login_url: str
    can_refresh: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        """Keep the secret as a SecretStr whatever the caller passed."""
        _conceal(self, "consumer_secret")

    def login(self, session: requests.Session) -> SfSession:
        """Authenticate the app with HTTP Basic, as simple-salesforce does."""
        pair = f"{self.consumer_key}:{_reveal(self.consumer_secret)}"
        headers = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
        data = {"grant_type": "client_credentials"}
        return _token(session, self.login_url.rstrip("/"), data, self.consumer_key, headers)


_SOAP_LOGIN = """<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:urn="urn:partner.soap.sforce.com">
  <env:Header>
    <urn:CallOptions><urn:client>sync-daemon</urn:client></urn:CallOptions>
  </env:Header>
  <env:Body>
    <n1:login xmlns:n1="urn:partner.soap.sforce.com">
      <n1:username>{username}</n1:username>
      <n1:password>{password}</n1:password>
    </n1:login>
  </env:Body>
</env:Envelope>"""


@dataclass(frozen=True, slots=True)
class PasswordAuth:
    """Username + password + security token through the SOAP partner ``login`` call."""

    username: str
    password: SecretStr | str = field(repr=False)
    security_token: SecretStr | str = field(repr=False)
    login_url: str = "https://login.salesforce.com"
    api_version: str = "62.0"
    can_refresh: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        """Keep password and security token as SecretStr whatever the caller passed."""
        _conceal(self, "password", "security_token")

    def login(self, session: requests.Session) -> SfSession:
        """Post the SOAP envelope (values XML-escaped) and read the session id and server URL."""
        secret = _reveal(self.password) + _reveal(self.security_token)
        body = _SOAP_LOGIN.format(username=escape(self.username), password=escape(secret))
        url = f"{self.login_url.rstrip('/')}/services/Soap/u/{self.api_version}"
        headers = {"content-type": "text/xml", "charset": "UTF-8", "SOAPAction": "login"}
        try:
            session_id, instance = soap_login(url, body, headers, None, session)
        except ExpatError:
            raise ProtocolError("Salesforce SOAP login answered 200 with a body that is not XML") from None
        if not session_id:
            raise AuthError("Salesforce SOAP login answered without a session id")
        return SfSession(session_id, _instance_url(instance))
