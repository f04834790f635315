"""A GitHub App's key pair for tests, and scenarios that install the App.

The key is made once per test session (RSA 2048 takes a moment): the private half plays the
App's `.pem`, the public half goes into the scenario's `apps:` as GitHub keeps it.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

APP_ID = 4242
APP_SLUG = "deployer"
INSTALLATION_ID = 777


@dataclass(frozen=True)
class AppKeys:
    private_pem: str
    public_pem: str


@functools.cache
def app_keys(seed: int = 0) -> AppKeys:
    """A key pair; each `seed` a different one (a second App, or the wrong key)."""
    del seed  # a fresh key per distinct seed, cached by functools
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return AppKeys(private, public)


def with_app(
    scenario: dict[str, Any],
    account: str,
    repos: list[str] | str = "*",
    permissions: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`scenario` with the App installed on `account` (all of its repositories, or `repos`)."""
    scenario = copy.deepcopy(scenario)
    scenario["apps"] = {
        APP_SLUG: {
            "id": APP_ID,
            "public_key": app_keys().public_pem,
            "installations": [
                {
                    "id": INSTALLATION_ID,
                    "account": account,
                    "repos": repos,
                    "permissions": permissions or {"actions": "write", "contents": "read", "checks": "read"},
                }
            ],
        }
    }
    return scenario
