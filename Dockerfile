# The container the action runs in (action.yml: runs.using docker). Built two ways:
# - From the source tree, on `main` and in forks: action.yml says `image: Dockerfile`, and the
#   runner builds this file with the repository as the context (.dockerignore keeps that context
#   to what `pip install` needs), so `uses: ./` runs the code of the checkout.
# - From the release's wheel, once per release: .github/workflows/release.yml builds it for
#   linux/amd64 and linux/arm64 with `--build-arg WHEEL=<the wheel's file name in dist/>` (the
#   wheel uploaded to PyPI, so the image and the package are the same build), pushes it to GHCR,
#   and the release's action.yml names it by digest, so a job pulls it and builds nothing.
#
# GitHub's rules for an action's Dockerfile ("Dockerfile support for GitHub Actions",
# docs.github.com/actions/creating-actions/dockerfile-support-for-github-actions), checked by
# tests/test_action_metadata.py:
# - FROM first, an official Debian-based image: python:3.12-slim, pinned by digest, so that every
#   build starts from the same bytes whatever the tag points to today. The digest is the
#   multi-platform index (one digest for amd64 and arm64) that python:3.12-slim named in late
#   September 2026: Python 3.12.14 on Debian 13 "trixie" (the same index as the tag
#   python:3.12.14-slim-trixie; public Dockerfiles and build logs of that month resolve the tag to
#   it). Dependabot (docker ecosystem, .github/dependabot.yml) proposes each newer 3.12-slim digest
#   as a pull request; it is told to ignore newer Pythons, which would otherwise stop it (3.12 stays
#   the image's Python until CI, the composite action and this file move together).
# - No USER: the action must run as root, or it cannot write GITHUB_WORKSPACE, which the runner
#   mounts at /github/workspace.
# - No WORKDIR: the runner mounts the workspace and sets it as the working directory (docker run
#   --workdir /github/workspace), so a WORKDIR here would only mislead; paths below are absolute.
# - ENTRYPOINT in exec form with an absolute path: no shell between the runner's signals and the
#   program, so cancelling the job (SIGINT, then SIGTERM after 7.5 s: "Workflow cancellation
#   reference") reaches wait-and-dispatch, which cancels the runs it dispatched.
FROM python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea

# Empty: install the source tree. A file name: install dist/<WHEEL> instead (the release build).
ARG WHEEL=""

# Unbuffered, so log lines and ::error:: commands reach the job log in order and at once.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# What .dockerignore lets into the context: the source tree's packaging files and src/, and the
# release's wheel when there is one.
COPY . /opt/wait-and-dispatch/

# The same pinned versions CI tests (constraints.txt). pip puts the console script of
# [project.scripts] in the interpreter's scripts directory: /usr/local/bin in the official python
# images, which install Python under /usr/local.
#
# wait-and-dispatch-post is the post step's entrypoint: the runner starts it as
# `docker run --entrypoint "<runs.post-entrypoint>"`, one executable without arguments
# (actions/runner DockerCommandManager), so the `action --post` arguments live in this script.
RUN case "$WHEEL" in \
      "") package=/opt/wait-and-dispatch ;; \
      */* | *[!A-Za-z0-9._+-]* | [!A-Za-z0-9]*) echo "WHEEL must be a file name in dist/: $WHEEL" >&2; exit 2 ;; \
      *.whl) package="/opt/wait-and-dispatch/dist/$WHEEL" ;; \
      *) echo "WHEEL must name a .whl file: $WHEEL" >&2; exit 2 ;; \
    esac \
 && pip install --no-cache-dir --constraint /opt/wait-and-dispatch/constraints.txt "$package" \
 && rm -rf /opt/wait-and-dispatch \
 && printf '#!/bin/sh\nexec /usr/local/bin/wait-and-dispatch action --post "$@"\n' \
      > /usr/local/bin/wait-and-dispatch-post \
 && chmod 0755 /usr/local/bin/wait-and-dispatch-post \
 && /usr/local/bin/wait-and-dispatch --version

ENTRYPOINT ["/usr/local/bin/wait-and-dispatch", "action"]
