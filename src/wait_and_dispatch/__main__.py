from wait_and_dispatch.program import entry_point

entry_point()
