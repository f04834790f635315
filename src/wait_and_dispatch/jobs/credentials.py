"""Which credentials a step uses: `github-token`, or a GitHub App (`app-id` + `app-private-key`).

Shared input translation, like `job` and `plan_job`: no I/O. The edges mint the App's token
(`engine.app_auth.installation_token`) for the repositories returned here and mask it.
"""

from __future__ import annotations

from collections.abc import Mapping

from wait_and_dispatch.engine.app_auth import AppCredentials
from wait_and_dispatch.engine.model import Repository
from wait_and_dispatch.errors import UsageError
from wait_and_dispatch.plans.model import Plan


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


def plan_repositories(plan: Plan, repository: Repository) -> list[Repository]:
    """The repositories a plan's token is scoped to: the plan's own (`repository`), the only one
    its nodes can reach. A node's values hold only `plans.model.NODE_INPUTS`, which has no
    `repository`, and the loader refuses one on a node: one plan, one repository (docs/plans.md)."""
    del plan  # its nodes all work in `repository`, so it adds none
    return [repository]
