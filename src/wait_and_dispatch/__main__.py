from wait_and_dispatch.cli import entry_point

entry_point()
