# The container the action runs in (action.yml: runs.using docker, image Dockerfile). The runner
# builds it on the job's Linux machine with this repository as the context (.dockerignore keeps
# that context to what `pip install` needs).
#
# GitHub's rules for an action's Dockerfile ("Dockerfile support for GitHub Actions",
# docs.github.com/actions/creating-actions/dockerfile-support-for-github-actions), checked by
# tests/test_action_metadata.py:
# - FROM first, an official Debian-based image with a version tag: python:3.12-slim.
# - No USER: the action must run as root, or it cannot write GITHUB_WORKSPACE, which the runner
#   mounts at /github/workspace.
# - No WORKDIR: the runner mounts the workspace and sets it as the working directory (docker run
#   --workdir /github/workspace), so a WORKDIR here would only mislead; paths below are absolute.
# - ENTRYPOINT in exec form with an absolute path: no shell between the runner's signals and the
#   program, so cancelling the job (SIGINT, then SIGTERM after 7.5 s: "Workflow cancellation
#   reference") reaches wait-and-dispatch, which cancels the runs it dispatched.
FROM python:3.12-slim

# Unbuffered, so log lines and ::error:: commands reach the job log in order and at once.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY pyproject.toml constraints.txt README.md /opt/wait-and-dispatch/
COPY src /opt/wait-and-dispatch/src

# The same pinned versions CI tests (constraints.txt). pip puts the console script of
# [project.scripts] in the interpreter's scripts directory: /usr/local/bin in the official python
# images, which install Python under /usr/local.
#
# wait-and-dispatch-post is the post step's entrypoint: the runner starts it as
# `docker run --entrypoint "<runs.post-entrypoint>"`, one executable without arguments
# (actions/runner DockerCommandManager), so the `action --post` arguments live in this script.
RUN pip install --no-cache-dir --constraint /opt/wait-and-dispatch/constraints.txt /opt/wait-and-dispatch \
 && rm -rf /opt/wait-and-dispatch \
 && printf '#!/bin/sh\nexec /usr/local/bin/wait-and-dispatch action --post "$@"\n' \
      > /usr/local/bin/wait-and-dispatch-post \
 && chmod 0755 /usr/local/bin/wait-and-dispatch-post \
 && /usr/local/bin/wait-and-dispatch --version

ENTRYPOINT ["/usr/local/bin/wait-and-dispatch", "action"]
