"""The Salesforce connector over simple-salesforce: auth, HTTP, SOQL, errors, and the write side."""

from connectors.salesforce.auth import (
    ClientCredentialsAuth,
    JwtAuth,
    PasswordAuth,
    SalesforceAuth,
    SfSession,
    TokenAuth,
    login_base_url,
)
from connectors.salesforce.connector import SalesforceConnector

__all__ = [
    "ClientCredentialsAuth",
    "JwtAuth",
    "PasswordAuth",
    "SalesforceAuth",
    "SalesforceConnector",
    "SfSession",
    "TokenAuth",
    "login_base_url",
]
