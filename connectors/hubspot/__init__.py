"""The HubSpot connector (hubspot-api-client 12): keyset search pulls, rate-limit aware."""

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.ratelimit import RateLimiter

__all__ = ["HubSpotConnector", "RateLimiter"]
