"""Register, log in, refresh, verify email."""

from __future__ import annotations

import logging
import math

from fastapi import APIRouter, Request, status

from api.audit import AuditorDep
from api.deps import ResourcesDep, SessionDep
from api.errors import error_responses
from api.schemas.accounts import LoginBody, RefreshBody, RegisterBody, TokenPair, UserOut, VerifyEmailBody
from core.accounts import Principal, active_user, authenticate, normalize_email, register_user
from core.errors import BatonError, Unauthenticated
from core.ratelimit import hit
from core.security import InvalidToken, hash_password

router = APIRouter(prefix="/auth", tags=["auth"])
logger = logging.getLogger("baton.auth")

LOGIN_WINDOW_SECONDS = 15 * 60
LOGIN_LIMIT_PER_EMAIL = 10
LOGIN_LIMIT_PER_IP = 50
ERRORS = error_responses(401, 409, 422, 429)


class TooManyAttempts(BatonError):
    status_code = 429
    kind = "rate_limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


def _tokens(resources: ResourcesDep, user_id: str) -> TokenPair:
    access, _ = resources.signer.issue(user_id, "access")
    refresh, _ = resources.signer.issue(user_id, "refresh")
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=int(resources.signer.lifetimes.access.total_seconds()),
    )


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserOut, responses=ERRORS)
async def register(
    body: RegisterBody, session: SessionDep, resources: ResourcesDep, auditor: AuditorDep
) -> UserOut:
    """Create an account. The email verification link is logged in development (sent by email later)."""
    user = await register_user(
        session,
        email=body.email,
        password_hash=hash_password(body.password),
        first=body.first_name,
        last=body.last_name,
    )
    token, _ = resources.signer.issue(user.id, "verify")
    logger.info(
        'verify the email of %s with POST /api/v1/auth/verify-email {"token": "%s"}', user.email, token
    )
    await auditor.record(
        "user.registered", principal=Principal(user), entity_type="user", entity_id=user.id, workspace_id=None
    )
    return UserOut.model_validate(user)


@router.post("/login", response_model=TokenPair, responses=ERRORS)
async def login(
    body: LoginBody, request: Request, session: SessionDep, resources: ResourcesDep, auditor: AuditorDep
) -> TokenPair:
    """Exchange email and password for a short-lived access token and a refresh token."""
    keys = resources.keys.prefix
    client = request.client.host if request.client else "unknown"
    for key, limit in (
        (f"{keys}ratelimit:login:email:{normalize_email(body.email)}", LOGIN_LIMIT_PER_EMAIL),
        (f"{keys}ratelimit:login:ip:{client}", LOGIN_LIMIT_PER_IP),
    ):
        verdict = await hit(resources.redis, key, limit=limit, window_seconds=LOGIN_WINDOW_SECONDS)
        if not verdict.allowed:
            wait = math.ceil(verdict.retry_after)
            raise TooManyAttempts(f"too many login attempts; try again in {wait} seconds", wait)
    user = await authenticate(session, body.email, body.password)
    await auditor.record(
        "user.logged_in", principal=Principal(user), entity_type="user", entity_id=user.id, workspace_id=None
    )
    return _tokens(resources, user.id)


@router.post("/refresh", response_model=TokenPair, responses=ERRORS)
async def refresh(body: RefreshBody, session: SessionDep, resources: ResourcesDep) -> TokenPair:
    """A new token pair for a refresh token; each refresh token works once (a reused one is refused)."""
    try:
        claims = resources.signer.read(body.refresh_token, "refresh")
    except InvalidToken as exc:
        raise Unauthenticated(f"invalid refresh token ({exc}); log in again") from exc
    seconds_left = max(1, int(claims["exp"]) - int(claims["iat"]))
    first_use = await resources.redis.set(
        f"{resources.keys.prefix}auth:refresh-used:{claims['jti']}", "1", nx=True, ex=seconds_left
    )
    if not first_use:
        raise Unauthenticated("this refresh token was already used; log in again")
    user = await active_user(session, claims["sub"])
    return _tokens(resources, user.id)


@router.post("/verify-email", response_model=UserOut, responses=ERRORS)
async def verify_email(
    body: VerifyEmailBody, session: SessionDep, resources: ResourcesDep, auditor: AuditorDep
) -> UserOut:
    try:
        claims = resources.signer.read(body.token, "verify")
    except InvalidToken as exc:
        raise Unauthenticated(f"invalid or expired verification token ({exc})") from exc
    user = await active_user(session, claims["sub"])
    user.email_verified = True
    session.add(user)
    await session.flush()
    await session.refresh(user)
    await auditor.record(
        "user.email_verified",
        principal=Principal(user),
        entity_type="user",
        entity_id=user.id,
        workspace_id=None,
    )
    return UserOut.model_validate(user)
