"""Salesforce logins: login URLs, JWT claims, the token and SOAP flows, secrets out of sight."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from connectors.base import AuthError, ProtocolError
from connectors.salesforce import (
    ClientCredentialsAuth,
    JwtAuth,
    PasswordAuth,
    SfSession,
    TokenAuth,
    login_base_url,
)
from connectors.salesforce.http import SalesforceHttpSession
from tests.conftest import KNOWN_TOKEN

if TYPE_CHECKING:
    import responses

LOGIN = "https://acme.my.salesforce.com"
TOKEN_URL = f"{LOGIN}/services/oauth2/token"
ISSUED = {
    "access_token": KNOWN_TOKEN,
    "instance_url": "https://acme.my.salesforce.com",
    "token_type": "Bearer",
}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> SecretStr:
    raw = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return SecretStr(raw.decode())


def form(call: responses.Call) -> dict[str, list[str]]:
    body = call.request.body
    return parse_qs(body if isinstance(body, str) else (body or b"").decode())


@pytest.mark.parametrize(
    ("domain", "url"),
    [
        ("login", "https://login.salesforce.com"),
        ("test", "https://test.salesforce.com"),
        ("acme.my", "https://acme.my.salesforce.com"),
        ("acme--uat.sandbox.my", "https://acme--uat.sandbox.my.salesforce.com"),
        ("acme.my.salesforce.mil", "https://acme.my.salesforce.mil"),
        ("127.0.0.1:8443", "https://127.0.0.1:8443"),
        ("localhost:8443", "https://localhost:8443"),
        ("https://127.0.0.1:9999/", "https://127.0.0.1:9999"),
        ("http://sandbox.local", "http://sandbox.local"),
    ],
)
def test_login_base_url_from_the_domain_setting(domain: str, url: str) -> None:
    """login/test and My Domain prefixes use salesforce.com; hosts and URLs are taken as given."""
    assert login_base_url(domain) == url


def test_jwt_assertion_carries_the_claims_salesforce_checks(rsa_key: rsa.RSAPrivateKey) -> None:
    """The claims: iss the consumer key, sub the username, aud the login host, exp now + 3 min."""
    auth = JwtAuth("ops@acme.io", "3MVG-key", pem(rsa_key), "https://login.salesforce.com/")
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    token = auth.assertion(now)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(
        token,
        rsa_key.public_key(),
        algorithms=["RS256"],
        audience="https://login.salesforce.com",
        options={"verify_exp": False},
    )
    assert claims == {
        "iss": "3MVG-key",
        "sub": "ops@acme.io",
        "aud": "https://login.salesforce.com",
        "exp": int(now.timestamp()) + 180,
    }


@pytest.mark.parametrize(
    ("login_url", "audience", "expected"),
    [
        ("https://test.salesforce.com", None, "https://test.salesforce.com"),
        ("https://acme.my.salesforce.com/", None, "https://acme.my.salesforce.com"),
        (
            "https://acme.my.salesforce.com",
            "https://login.salesforce.com",
            "https://login.salesforce.com",
        ),
    ],
)
def test_jwt_audience_follows_the_login_url_unless_set(
    rsa_key: rsa.RSAPrivateKey, login_url: str, audience: str | None, expected: str
) -> None:
    """Sandboxes get test.salesforce.com, other hosts their own URL; an explicit audience wins."""
    auth = JwtAuth("u", "k", pem(rsa_key), login_url, audience)
    assert jwt.decode(auth.assertion(), options={"verify_signature": False})["aud"] == expected


def test_jwt_login_exchanges_the_assertion_at_the_login_url(
    rsps: responses.RequestsMock, rsa_key: rsa.RSAPrivateKey
) -> None:
    """The bearer grant goes to {login}/services/oauth2/token; the instance gets https back."""
    rsps.post(TOKEN_URL, json=ISSUED)
    with SalesforceHttpSession() as session:
        got = JwtAuth("ops@acme.io", "key", pem(rsa_key), LOGIN).login(session)
    sent = form(rsps.calls[0])
    assert sent["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert jwt.decode(sent["assertion"][0], options={"verify_signature": False})["sub"] == "ops@acme.io"
    assert got == SfSession(KNOWN_TOKEN, "https://acme.my.salesforce.com")


def test_client_credentials_authenticate_the_app_with_basic(rsps: responses.RequestsMock) -> None:
    """The client-credentials grant sends the consumer key and secret as HTTP Basic."""
    rsps.post(
        "https://127.0.0.1:8443/services/oauth2/token",
        json={**ISSUED, "instance_url": "https://127.0.0.1:8443"},
    )
    auth = ClientCredentialsAuth("ck", SecretStr("cs-secret"), "https://127.0.0.1:8443")
    with SalesforceHttpSession() as session:
        got = auth.login(session)
    request = rsps.calls[0].request
    assert form(rsps.calls[0]) == {"grant_type": ["client_credentials"]}
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"ck:cs-secret").decode()
    assert got.instance_url == "https://127.0.0.1:8443"


def test_a_refused_login_is_an_auth_error_without_secrets(rsps: responses.RequestsMock) -> None:
    """invalid_client becomes AuthError with the CRM's code and description only."""
    rsps.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_client", "error_description": "invalid client credentials"},
    )
    auth = ClientCredentialsAuth("ck", SecretStr(KNOWN_TOKEN), LOGIN)
    with SalesforceHttpSession() as session, pytest.raises(Exception) as info:
        auth.login(session)
    from connectors.salesforce.errors import translate  # noqa: PLC0415 - what the connector applies

    error = translate(info.value)
    assert isinstance(error, AuthError)
    assert str(error) == "Salesforce refused the login: invalid_client: invalid client credentials"


def test_a_token_answer_without_instance_url_is_a_protocol_error(
    rsps: responses.RequestsMock,
) -> None:
    """A 200 from the token endpoint lacking instance_url is unreadable, not a crash."""
    rsps.post(TOKEN_URL, json={"access_token": KNOWN_TOKEN})
    with SalesforceHttpSession() as session, pytest.raises(ProtocolError, match="instance URL"):
        ClientCredentialsAuth("ck", SecretStr("cs"), LOGIN).login(session)


SOAP_OK = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>
  <serverUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00D</serverUrl>
  <sessionId>{token}</sessionId></result></loginResponse></soapenv:Body></soapenv:Envelope>"""


def test_password_login_posts_an_escaped_soap_envelope(rsps: responses.RequestsMock) -> None:
    """Username and password+token are XML-escaped; the session id and instance are read back."""
    rsps.post(f"{LOGIN}/services/Soap/u/61.0", body=SOAP_OK.format(token=KNOWN_TOKEN))
    auth = PasswordAuth("a&b@acme.io", SecretStr("p<w>d"), SecretStr("t&k"), LOGIN, "61.0")
    with SalesforceHttpSession() as session:
        got = auth.login(session)
    body = rsps.calls[0].request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    assert "<n1:username>a&amp;b@acme.io</n1:username>" in text
    assert "<n1:password>p&lt;w&gt;dt&amp;k</n1:password>" in text
    assert rsps.calls[0].request.headers["SOAPAction"] == "login"
    assert got == SfSession(KNOWN_TOKEN, "https://acme.my.salesforce.com")


def test_a_soap_200_that_is_not_xml_is_a_protocol_error(rsps: responses.RequestsMock) -> None:
    """A proxy's HTML page in place of the SOAP answer is unreadable, not a crash."""
    rsps.post(f"{LOGIN}/services/Soap/u/62.0", body="<html><p>captive portal")
    auth = PasswordAuth("u", SecretStr("p"), SecretStr("t"), LOGIN)
    with SalesforceHttpSession() as session, pytest.raises(ProtocolError, match="not XML"):
        auth.login(session)


def test_no_repr_shows_a_secret(rsa_key: rsa.RSAPrivateKey) -> None:
    """No repr shows a token, password, security token, private key or consumer secret."""
    objects = [
        TokenAuth(LOGIN, SecretStr(KNOWN_TOKEN)),
        JwtAuth("u", "k", pem(rsa_key), LOGIN),
        ClientCredentialsAuth("k", SecretStr(KNOWN_TOKEN), LOGIN),
        PasswordAuth("u", SecretStr(KNOWN_TOKEN), SecretStr(KNOWN_TOKEN + "2"), LOGIN),
        SfSession(KNOWN_TOKEN, LOGIN),
    ]
    for obj in objects:
        assert KNOWN_TOKEN not in repr(obj)
        assert "PRIVATE KEY" not in repr(obj)


def test_a_ready_token_is_handed_back_with_an_https_instance() -> None:
    """TokenAuth needs no HTTP call; an instance URL given without a scheme gets https."""
    with SalesforceHttpSession() as session:
        got = TokenAuth("acme.my.salesforce.com/", SecretStr(KNOWN_TOKEN)).login(session)
        assert session.calls == 0
    assert got == SfSession(KNOWN_TOKEN, "https://acme.my.salesforce.com")


def test_secrets_given_as_plain_strings_are_wrapped() -> None:
    """Callers may pass plain strings; they are stored as SecretStr and still used for login."""
    auth = ClientCredentialsAuth("ck", KNOWN_TOKEN, LOGIN)
    assert isinstance(auth.consumer_secret, SecretStr)
    assert KNOWN_TOKEN not in repr(auth)
    assert KNOWN_TOKEN not in str(auth.consumer_secret)
    with SalesforceHttpSession() as session:
        assert TokenAuth(LOGIN, KNOWN_TOKEN).login(session).access_token == KNOWN_TOKEN


def test_only_a_ready_token_cannot_refresh(rsa_key: rsa.RSAPrivateKey) -> None:
    """Token auth cannot renew a session; the three login flows can."""
    assert not TokenAuth(LOGIN, SecretStr("t")).can_refresh
    assert JwtAuth("u", "k", pem(rsa_key), LOGIN).can_refresh
    assert ClientCredentialsAuth("k", SecretStr("s"), LOGIN).can_refresh
    assert PasswordAuth("u", SecretStr("p"), SecretStr("t"), LOGIN).can_refresh
