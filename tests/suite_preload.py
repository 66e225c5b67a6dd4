"""Imported by the self-tests' fork server (tests/launcher.py): pytest's plugins, the suite's among them, and the
reference gateway, imported the way pytest imports plugins: through its assertion-rewriting import hook, so a
forked suite run finds them rewritten as a fresh `python -m pytest` would (and pytest does not warn that they were
imported before it could rewrite them). Nothing here starts a thread or reads the environment."""

from __future__ import annotations

import copy
import gc
import importlib

from _pytest.config import get_config


def import_plugins_as_pytest_does() -> None:
    config = get_config()
    config._inicfg = {}  # no ini file: the hook reads python_files, whose default is what a suite run uses
    config.known_args_namespace = config._parser.parse_known_args([], namespace=copy.copy(config.option))
    config._consider_importhook()  # pytest's rewriting hook, with every entry-point plugin marked for rewriting
    try:
        config.pluginmanager.load_setuptools_entrypoints("pytest11")
        for module in ("conformance.reference.gateway", "conformance.reference.faults", "uvicorn"):
            importlib.import_module(module)  # what `python -m conformance.reference` imports (not its __main__: runpy runs that)
    finally:
        config._ensure_unconfigure()  # the hook leaves sys.meta_path; the modules stay imported


try:
    import_plugins_as_pytest_does()
except Exception:  # pytest's internals moved: the children import everything themselves, slower but the same
    pass

# Everything imported so far lives as long as every child: out of the collector's sight, a child's collections
# (pytest runs several at its end) neither walk it nor copy its pages.
gc.freeze()
