"""Who a request comes from: a token of the scenario (in `Authorization` as `token`, `Bearer` or
the password of basic auth), an installation token minted by an App, or an App's JWT."""

from __future__ import annotations

import hmac
import time
from base64 import b64decode

from werkzeug.wrappers import Request

from wait_and_dispatch.emulator.specs import TokenSpec
from wait_and_dispatch.emulator.state import State


def authenticate(state: State, request: Request) -> tuple[TokenSpec | None, bool]:
    """(token, ok): (None, True) for anonymous; (None, False) for unknown credentials."""
    header = request.headers.get("Authorization")
    if header is None:
        return None, True
    scheme, _, value = header.strip().partition(" ")
    secret = value.strip()
    if scheme.lower() == "basic":
        # git and some clients send the token as the password of basic auth.
        try:
            secret = b64decode(secret).decode().partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            return None, False
    elif scheme.lower() not in ("token", "bearer"):
        return None, False
    with state.lock:
        tokens = list(state.tokens.values())
        now = state.now()
    for token in tokens:
        if hmac.compare_digest(token.secret, secret):
            # An installation token lasts one hour (REST "Create an installation access token").
            expired = token.expires_at is not None and now >= token.expires_at
            return (None, False) if expired else (token, True)
    if scheme.lower() == "bearer" and secret.count(".") == 2:
        app = _app_of_jwt(state, secret)
        if app is not None:
            return app, True
    return None, False


def _app_of_jwt(state: State, encoded: str) -> TokenSpec | None:
    """The App whose key signed this JWT, as a principal that only the /app endpoints accept.

    GitHub's rules ("Generating a JSON Web Token (JWT) for a GitHub App"): RS256, `iss` the App's
    id or client id, `exp` at most 10 minutes ahead. A JWT is real time, whatever the scenario's
    clock: the client signs it with the wall clock, so it is checked against the wall clock.
    """
    import jwt  # PyJWT: only a scenario with apps needs it

    for spec in state.apps.values():
        try:
            claims = jwt.decode(
                encoded,
                spec.public_key,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"], "verify_iat": False},
                leeway=60,
            )
        except jwt.PyJWTError:
            continue
        if str(claims["iss"]) not in (str(spec.id), f"Iv1.{spec.id:016x}"):
            continue
        if float(claims["exp"]) > time.time() + 600 + 60:
            continue  # "'Expiration time' claim ('exp') is too far in the future"
        return TokenSpec(
            name=f"app:{spec.slug}",
            secret="",  # nosec B106 # an App JWT has no stored secret: it was verified above
            kind="app",
            repos=(),
            permissions={},
            actor=spec.slug,
            app_slug=spec.slug,
        )
    return None
