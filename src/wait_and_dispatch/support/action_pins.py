"""The one table of every other action the project runs, ships or writes: each by full commit SHA.

Every `uses:` of someone else's action in composite/action.yml, .github/workflows/, the examples'
workflows, the README's and docs' workflows, and the orchestrators `plan --emit-workflow` writes
names an entry of `PINS`, with the entry's release tag as the comment after it
(`uses: actions/checkout@<sha> # v7.0.1`), the form zizmor's unpinned-uses audit and dependabot
read. tests/test_action_pins.py fails when a file disagrees with the table, names an action that
is not in it, or when an entry runs on Node 20.

Why here, in the package, and not in tools/ or the tests: plans/emit.py writes the checkout step
of collect jobs into users' workflows at run time, from an installed wheel, so the table must ship
with the program; the checks of the repository's own files then read the same table.

Why Node 24: GitHub-hosted runners run JavaScript actions on Node 24 since 2026-06-02 and removed
Node 20 on 2026-09-16 (GitHub changelog "Deprecation of Node 20 on GitHub Actions runners",
https://github.blog/changelog/2025-09-19-deprecation-of-node-20-on-github-actions-runners/).
A pin to a release whose action.yml says `runs.using: node20` runs on a runtime it was not
released for, so every JavaScript action here is at a release that declares `node24`; Docker and
composite actions have no Node runtime of their own.

`PEERS` are the actions docs/MIGRATION.md's "before" workflows show: the step a user replaces with
this action, at the peer's newest release, as the user has it. They are pinned and verified the same
way, but this project never runs them, so a peer's own runtime (some still declare `node20`) is
recorded, not required. They may appear in docs/MIGRATION.md only.

How each pin was verified, and how to refresh them: docs/action-pins.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# `runs.using` of the action's action.yml at the pinned commit.
Runtime = Literal["node24", "docker", "composite", "node20"]


@dataclass(frozen=True)
class ActionPin:
    repository: str  # owner/name on github.com
    sha: str  # the full commit the release tag points to
    version: str  # the release tag
    runs: Runtime

    @property
    def uses(self) -> str:
        """What `uses:` says, without the comment."""
        return f"{self.repository}@{self.sha}"

    @property
    def pinned(self) -> str:
        """What `uses:` says, with the release as the comment: `owner/name@<sha> # vX.Y.Z`."""
        return f"{self.uses} # {self.version}"


def _table(*pins: ActionPin) -> dict[str, ActionPin]:
    return {pin.repository: pin for pin in pins}


PINS: dict[str, ActionPin] = _table(
    ActionPin("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1", "node24"),
    ActionPin("actions/setup-python", "5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0", "node24"),
    ActionPin("actions/cache", "27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5", "node24"),
    ActionPin("actions/upload-artifact", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0", "node24"),
    ActionPin("actions/download-artifact", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1", "node24"),
    ActionPin("hashicorp/setup-terraform", "dfe3c3f87815947d99a8997f908cb6525fc44e9e", "v4.0.1", "node24"),
    ActionPin("docker/setup-qemu-action", "96fe6ef7f33517b61c61be40b68a1882f3264fb8", "v4.2.0", "node24"),
    ActionPin("docker/setup-buildx-action", "37fe631027851001ddb9b187196cc803df7f5f0e", "v4.3.0", "node24"),
    ActionPin("docker/login-action", "4907a6ddec9925e35a0a9e82d7399ccc52663121", "v4.1.0", "node24"),
    ActionPin("docker/build-push-action", "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", "v7.3.0", "node24"),
    # A composite action that runs the upload in a Docker container (docs/action-pins.md says how
    # this pin was verified, which differs from the others).
    ActionPin(
        "pypa/gh-action-pypi-publish", "dc37677b2e1c63e2034f94d8a5b11f265b73ba33", "v1.14.2", "composite"
    ),
)

# The checkout step of the collect jobs that `plan --emit-workflow` writes.
CHECKOUT = PINS["actions/checkout"]

PEERS: dict[str, ActionPin] = _table(
    ActionPin(
        "lewagon/wait-on-check-action", "2271c86c146b96545b4e871b855e10ffa6f50773", "v1.9.0", "composite"
    ),
    ActionPin("actions/github-script", "ed597411d8f924073f98dfc5c65a23a2325f34cd", "v8.0.0", "node24"),
    ActionPin("Codex-/return-dispatch", "85e564d60eaec3cc4aca885373d510cfe4bd5b19", "v4.0.1", "node24"),
    ActionPin("Codex-/await-remote-run", "bb04140a0965ec5532845d826a74dc5f075f891b", "v3.0.0", "node24"),
    ActionPin(
        "the-actions-org/workflow-dispatch", "3133c5d135c7dbe4be4f9793872b6ef331b53bc7", "v4.0.0", "node20"
    ),
    ActionPin("benc-uk/workflow-dispatch", "7a027648b88c2413826b6ddd6c76114894dc5ec4", "v1.3.1", "node24"),
    ActionPin(
        "dawidd6/action-download-artifact", "b6e2e70617bc3265edd6dab6c906732b2f1ae151", "v21", "node24"
    ),
    ActionPin(
        "convictional/trigger-workflow-and-wait",
        "f69fa9eedd3c62a599220f4d5745230e237904be",
        "v1.6.5",
        "docker",
    ),
    ActionPin("lasith-kg/dispatch-workflow", "31e75ec32486f8af8e5b9c3495efc61fad91c58e", "v2.0.2", "node20"),
    ActionPin(
        "fountainhead/action-wait-for-check", "5a908a24814494009c4bb27c242ea38c93c593be", "v1.2.0", "node20"
    ),
    ActionPin(
        "poseidon/wait-for-status-checks", "e7e24423722c5b8e97a6dd5848827d2a412f812d", "v0.7.0", "node24"
    ),
    ActionPin(
        "peter-evans/repository-dispatch", "28959ce8df70de7be546dd1250a005dd32156697", "v4.0.1", "node24"
    ),
)
