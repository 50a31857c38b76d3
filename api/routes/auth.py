"""Register, log in, refresh, verify email; sign in and out of the console (a session cookie)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response, status

from api.audit import AuditorDep
from api.deps import ResourcesDep, SessionDep, console_sessions
from api.errors import error_responses
from api.schemas.accounts import LoginBody, RefreshBody, RegisterBody, TokenPair, UserOut, VerifyEmailBody
from api.schemas.sessions import SessionOut
from core.accounts import Principal, active_user, normalize_email, register_user
from core.console_sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from core.errors import Unauthenticated
from core.login_throttle import LoginThrottle
from core.passwords import require_strong_password
from core.security import InvalidToken, hash_password

router = APIRouter(prefix="/auth", tags=["auth"])
logger = logging.getLogger("baton.auth")

ERRORS = error_responses(401, 409, 422, 429)


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
    """Create an account. The password must be hard to guess (422 `weak_password` says why it is not).

    An address that has an account already gets the same answer as a new one (a user that was not made,
    and cannot log in): registration does not tell who has an account. The verification token is logged
    in development only."""
    require_strong_password(body.password, body.email, body.first_name, body.last_name)
    password_hash = hash_password(body.password)  # hashed either way: both answers take as long
    user = await register_user(
        session, email=body.email, password_hash=password_hash, first=body.first_name, last=body.last_name
    )
    if user is None:
        logger.info("a registration for an address that has an account changed nothing")
        now = datetime.now(UTC)
        return UserOut(
            id=str(uuid.uuid4()),
            email=normalize_email(body.email),
            first_name=body.first_name,
            last_name=body.last_name,
            email_verified=False,
            is_active=True,
            created_at=now,
            updated_at=now,
            last_login_at=None,
        )
    token, _ = resources.signer.issue(user.id, "verify")
    if resources.settings.development:  # no mail is sent in development: the console shows the command
        logger.info(
            "verify the email of %s: curl -s %s/api/v1/auth/verify-email -H 'content-type: application/json' "
            """-d '{"token": "%s"}'""",
            user.email,
            resources.settings.public_base_url.rstrip("/"),
            token,
        )
    await auditor.record(
        "user.registered", principal=Principal(user), entity_type="user", entity_id=user.id, workspace_id=None
    )
    return UserOut.model_validate(user)


@router.post("/login", response_model=TokenPair, responses=ERRORS)
async def login(
    body: LoginBody, request: Request, session: SessionDep, resources: ResourcesDep, auditor: AuditorDep
) -> TokenPair:
    """Exchange email and password for a short-lived access token and a refresh token.

    Wrong passwords earn a wait that doubles (core.login_throttle): per client and account after 5, per
    account from anywhere after 20 (at most 30 s), answered 429 with Retry-After. No account is locked."""
    client = request.client.host if request.client else "unknown"
    throttle = LoginThrottle(resources.redis, resources.keys)
    user = await throttle.log_in(session, client, body.email, body.password)
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
        resources.keys.refresh_token_used(claims["jti"]), "1", nx=True, ex=seconds_left
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


def _secure(request: Request, resources: ResourcesDep) -> bool:
    """Cookies only over HTTPS when Baton is reached over HTTPS (directly, through a proxy, or as configured),
    so `baton dev` on http://127.0.0.1 can sign in."""
    return request.url.scheme == "https" or resources.settings.public_base_url.startswith("https://")


@router.post("/session", response_model=SessionOut, responses=ERRORS)
async def sign_in(
    body: LoginBody,
    request: Request,
    response: Response,
    session: SessionDep,
    resources: ResourcesDep,
    auditor: AuditorDep,
) -> SessionOut:
    """Sign in to the console: sets the `baton_session` cookie (HttpOnly, SameSite=Lax, Secure over HTTPS;
    12 hours) and the `baton_csrf` cookie, readable by the page, whose value every request that changes
    something sends as `X-CSRF-Token` (refused 403 without it). Same throttle as `POST /auth/login`."""
    client = request.client.host if request.client else "unknown"
    signed_in = await console_sessions(resources).sign_in(session, client, body.email, body.password)
    secure = _secure(request, resources)
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.token,
        max_age=signed_in.max_age,
        path="/api/",
        httponly=True,
        secure=secure,
        samesite="lax",
    )
    response.set_cookie(
        CSRF_COOKIE, signed_in.csrf_token, max_age=signed_in.max_age, path="/", secure=secure, samesite="lax"
    )
    await auditor.record(
        "user.logged_in",
        principal=Principal(signed_in.user),
        entity_type="user",
        entity_id=signed_in.user.id,
        workspace_id=None,
        metadata={"via": "console"},
    )
    return SessionOut(
        user=UserOut.model_validate(signed_in.user),
        csrf_token=signed_in.csrf_token,
        expires_in=signed_in.max_age,
    )


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def sign_out(request: Request, response: Response, resources: ResourcesDep) -> None:
    """Sign out of the console: the session ends (a copy of its cookie stops working) and both cookies are
    cleared. Needs `X-CSRF-Token` like every cookie request that changes something."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await console_sessions(resources).sign_out(token, request.headers.get(CSRF_HEADER))
    secure = _secure(request, resources)
    response.delete_cookie(SESSION_COOKIE, path="/api/", httponly=True, secure=secure, samesite="lax")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, samesite="lax")
