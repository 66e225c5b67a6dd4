"""Root conftest of a checkout. Deliberately empty of logic: the suite's pytest plugin is
registered once, through the pytest11 entry point that `pip install -e .` installs."""

collect_ignore = ["reports", "examples", "build"]
