"""wait-and-dispatch: find or dispatch GitHub Actions workflow runs, wait for them, fetch their artifacts."""

__version__ = "0.1.0"

USER_AGENT = f"wait-and-dispatch/{__version__}"
