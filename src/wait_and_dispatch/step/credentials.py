"""Which credentials a step uses: `github-token`, or a GitHub App (`app-id` + `app-private-key`).

A step's input translation, like `step.settings`: no I/O. The edges mint the App's token
(`engine.app_auth.installation_token`) and mask it; which repositories a plan's token covers is
`session.plan_step.plan_repositories`.
"""

from __future__ import annotations

from collections.abc import Mapping

from wait_and_dispatch.engine.app_auth import AppCredentials
from wait_and_dispatch.support.errors import UsageError


def read_app_credentials(values: Mapping[str, str]) -> AppCredentials | None:
    """The App's credentials, or None when the step uses github-token. Half of a pair is an error."""
    app_id = values.get("app-id", "").strip()
    key = values.get("app-private-key", "").strip()
    owner = values.get("app-installation-owner", "").strip()
    if not app_id and not key:
        if owner:
            raise UsageError(
                "app-installation-owner was given without app-id and app-private-key",
                hint="give app-id and app-private-key too, or drop app-installation-owner",
            )
        return None
    if not app_id or not key:
        given, missing = ("app-id", "app-private-key") if app_id else ("app-private-key", "app-id")
        raise UsageError(
            f"{given} was given without {missing}",
            hint="a GitHub App needs both its id (app-id) and its private key (app-private-key)",
        )
    return AppCredentials.parse(app_id, key, owner)
