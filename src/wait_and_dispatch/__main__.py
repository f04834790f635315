from wait_and_dispatch.cli.main import entry_point

entry_point()
