"""Authentication for the Salesforce sandbox: the OAuth 2.0 token endpoint, SOAP login, sessions.

It accepts the flows the daemon supports: client credentials (HTTP Basic or form fields), username +
password + security token (OAuth ``password`` grant or the SOAP partner ``login``), and the JWT
bearer flow (an RS256 assertion whose ``iss`` is the consumer key and ``sub`` the username, verified
with the public key a test registers). Refusals use Salesforce's OAuth error JSON and SOAP
``LoginFault``. Tokens are random and never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import jwt

from sync_daemon.sandbox.salesforce_data import INTEGRATION_USER_ID, ORG_ID
from sync_daemon.sandbox.server import Response

if TYPE_CHECKING:
    from sync_daemon.sandbox.server import Request

CONSUMER_KEY = "sandbox-consumer-key"
CONSUMER_SECRET = "sandbox-consumer-secret"  # noqa: S105 - the sandbox's published fake secret
USERNAME = "integration@sandbox.example"
PASSWORD = "sandbox-password"  # noqa: S105 - the sandbox's published fake password
SECURITY_TOKEN = "sandbox-security-token"  # noqa: S105 - the sandbox's published fake token
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_XML = "text/xml;charset=UTF-8"
# Every session id ever issued, so the test suite's secret scan can look for leaks of them.
ISSUED_TOKENS: set[str] = set()
_BAD_LOGIN = "Invalid username, password, security token; or user locked out."


class OAuthError(Exception):
    """A refused token request: Salesforce's ``{error, error_description}``."""

    def __init__(self, error: str, description: str) -> None:
        """Keep both parts of the OAuth error body."""
        super().__init__(description)
        self.error = error
        self.description = description


AUTH_FAILURE = OAuthError("invalid_grant", "authentication failure")
BAD_CLIENT = OAuthError("invalid_client", "invalid client credentials")


class Auth:
    """Issued sessions and the two login endpoints."""

    def __init__(self) -> None:
        """No sessions yet; the owner sets ``base_url`` once the server listens."""
        self._sessions: set[str] = set()
        self.base_url: str | None = None
        self.jwt_public_key: str | bytes | None = None

    def issue(self) -> str:
        """A new valid session id, shaped like Salesforce's (``00D...!...``)."""
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        self._sessions.add(token)
        ISSUED_TOKENS.add(token)
        return token

    def valid(self, token: str | None) -> bool:
        """Whether ``token`` is a live session."""
        return token is not None and token in self._sessions

    def expire_all(self) -> None:
        """Invalidate every session issued so far."""
        self._sessions.clear()

    # -- OAuth -----------------------------------------------------------------------------------

    def token_endpoint(self, request: Request) -> Response:
        """``POST /services/oauth2/token``."""
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        try:
            self._check_grant(form, request.headers)
        except OAuthError as exc:
            return Response(400, {"error": exc.error, "error_description": exc.description})
        return Response(200, self._token_body(self.url_for(request)))

    def _check_grant(self, form: dict[str, str], headers: dict[str, str]) -> None:
        grant = form.get("grant_type")
        if grant == "client_credentials":
            client_id, secret = _basic(headers) or (
                form.get("client_id"),
                form.get("client_secret"),
            )
            if client_id != CONSUMER_KEY or secret != CONSUMER_SECRET:
                raise BAD_CLIENT
        elif grant == "password":
            if form.get("client_id") != CONSUMER_KEY:
                raise OAuthError("invalid_client_id", "client identifier invalid")
            if form.get("client_secret") != CONSUMER_SECRET:
                raise BAD_CLIENT
            if form.get("username") != USERNAME or form.get("password") != PASSWORD + SECURITY_TOKEN:
                raise AUTH_FAILURE
        elif grant == JWT_GRANT:
            self._check_assertion(form.get("assertion", ""))
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")

    def _check_assertion(self, assertion: str) -> None:
        if self.jwt_public_key is None:
            raise OAuthError("invalid_grant", "invalid assertion")
        try:
            claims = jwt.decode(
                assertion,
                self.jwt_public_key,
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["iss", "sub", "exp"]},
            )
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_grant", "invalid assertion") from exc
        if claims.get("iss") != CONSUMER_KEY:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if claims.get("sub") != USERNAME:
            raise AUTH_FAILURE

    def url_for(self, request: Request) -> str:
        """The instance URL to hand out: ``base_url``, else ``https://`` + the Host the client used."""
        if self.base_url:
            return self.base_url
        host = next((v for k, v in request.headers.items() if k.lower() == "host"), "127.0.0.1")
        return f"https://{host}"

    def _token_body(self, base_url: str) -> dict[str, str]:
        identity = f"{base_url}/id/{ORG_ID}/{INTEGRATION_USER_ID}"
        issued_at = str(int(time.time() * 1000))
        digest = hmac.new(CONSUMER_SECRET.encode(), (identity + issued_at).encode(), hashlib.sha256)
        return {
            "access_token": self.issue(),
            "instance_url": base_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(digest.digest()).decode(),
        }

    # -- SOAP ------------------------------------------------------------------------------------

    def soap_login(self, request: Request, version: str) -> Response:
        """``POST /services/Soap/u/{version}`` with a partner ``login`` envelope."""
        text = request.body.decode("utf-8", "replace")
        username, password = _element(text, "username"), _element(text, "password")
        if "login" not in text or username != USERNAME or password != PASSWORD + SECURITY_TOKEN:
            fault = _LOGIN_FAULT.format(message=_BAD_LOGIN)
            return Response(500, fault.encode(), content_type=_XML)
        server = f"{self.url_for(request)}/services/Soap/u/{version}/{ORG_ID[:15]}"
        body = _LOGIN_OK.format(
            metadata=server.replace("/Soap/u/", "/Soap/m/"),
            server=server,
            session=self.issue(),
            user=INTEGRATION_USER_ID,
            org=ORG_ID,
            username=html.escape(USERNAME),
        )
        return Response(200, body.encode(), content_type=_XML)


def _basic(headers: dict[str, str]) -> tuple[str, str] | None:
    """``(client_id, secret)`` from an HTTP Basic Authorization header, if there is one."""
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if not value.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(value[6:].strip()).decode()
    except ValueError:
        return None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _element(text: str, name: str) -> str | None:
    """The unescaped text of the first ``<prefix:name>`` element (a regex: no entity tricks)."""
    m = re.search(rf"<(?:[\w-]+:)?{name}\b[^>]*>(.*?)</(?:[\w-]+:)?{name}>", text, re.DOTALL)
    return html.unescape(m.group(1)) if m else None


_LOGIN_OK = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><loginResponse><result>
<metadataServerUrl>{metadata}</metadataServerUrl><passwordExpired>false</passwordExpired>
<sandbox>true</sandbox><serverUrl>{server}</serverUrl><sessionId>{session}</sessionId>
<userId>{user}</userId><userInfo><organizationId>{org}</organizationId><userId>{user}</userId>
<userName>{username}</userName></userInfo>
</result></loginResponse></soapenv:Body></soapenv:Envelope>"""

_LOGIN_FAULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>
<faultstring>INVALID_LOGIN: {message}</faultstring>
<detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>
<sf:exceptionMessage>{message}</sf:exceptionMessage>
</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"""
