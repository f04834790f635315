"""wait-and-dispatch: find or dispatch GitHub Actions workflow runs, wait for them, fetch their artifacts."""

__version__ = "1.0.0"

USER_AGENT = f"wait-and-dispatch/{__version__}"

# The action's home on GitHub: `uses: wait-and-dispatch/wait-and-dispatch@v1`. The one place the
# name is written; the README, the docs, the generated workflows and the release scripts use it.
ACTION_REPOSITORY = "wait-and-dispatch/wait-and-dispatch"
