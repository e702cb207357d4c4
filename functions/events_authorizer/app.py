"""events_authorizer: AppSync Events' Lambda authorizer. It verifies our access token on every
connection and subscription, and lets a user subscribe only to /prices/{symbol} and their own
/users/{id} channel (tickerwatch.live.authorize). The local server's emulation calls it alike."""

from tickerwatch import accounts
from tickerwatch.live import authorize
from tickerwatch.observability import logger
from tickerwatch.settings import get_settings
from tickerwatch.web.auth import token_policy

get_settings()


def verify(token: str) -> int:
    return accounts.verified_user_id(token_policy(), token)


def handler(event, context):
    request = event.get("requestContext") or {}
    decision = authorize(request.get("operation", ""), request.get("channel"), event.get("authorizationToken"), verify)
    logger.info(
        "events authorization",
        extra={
            "operation": request.get("operation"),
            "channel": request.get("channel"),
            "allowed": decision.allowed,
            "user_id": decision.user_id,
            "reason": decision.reason,
        },
    )
    # Never cached (ttlOverride 0): a cached "yes" for a token would let it subscribe to any channel.
    answer = {"isAuthorized": decision.allowed, "ttlOverride": 0}
    if decision.allowed:
        answer["handlerContext"] = {"userId": str(decision.user_id)}
    return answer
