"""Options written with a space (`--report-dir /abs/dir`) work like options written with `=`.

pytest finds its rootdir and ini file (and so `testpaths`) from the command line before it loads plugins
installed as packages, so at that moment `--report-dir /abs/dir` reads as an unknown option and a test
path `/abs/dir`: the run then misses the checkout's pytest settings and collects the current directory
(the suite's self-tests included). Once the plugin is loaded, its options are known: the values are
joined to their options and the rootdir and ini settings are worked out again from the corrected line.
"""

from __future__ import annotations

import copy
import inspect

import pytest


def join_option_values(args: list[str], value_options: set[str]) -> list[str]:
    """`--opt value` -> `--opt=value` for the given options; everything after `--` is left alone."""
    joined: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return joined + args[i:]
        if arg in value_options and i + 1 < len(args):
            joined.append(f"{arg}={args[i + 1]}")
            i += 2
            continue
        joined.append(arg)
        i += 1
    return joined


def value_options(parser: pytest.Parser, group_name: str) -> set[str]:
    """The long option strings of one option group that take a value."""
    group = parser.getgroup(group_name)
    return {name for option in group.options for name in option.names()
            if name.startswith("--") and option.attrs().get("action") not in ("store_true", "store_false", "count")}


def repair_early_setup(config: pytest.Config, args: list[str], options: set[str]) -> None:
    """Join the values of `options` to them in `args` (in place) and, when that changes which ini file
    applies, redo pytest's rootdir and ini set-up as pytest itself would have done with that line."""
    fixed = join_option_values(args, options)
    if fixed == args:
        return
    args[:] = fixed
    try:
        _redo_setup(config, args)
    except (AttributeError, TypeError, KeyError) as exc:  # a pytest whose internals differ: say how to avoid it
        written = ", ".join(sorted(a.split("=", 1)[0] + "=VALUE" for a in fixed if a.split("=", 1)[0] in options))
        raise pytest.UsageError(f"write these options with '=': {written} (this pytest version reads a value after a "
                                f"space as a test path before the suite's options are known: {exc})") from None


def _redo_setup(config: pytest.Config, args: list[str]) -> None:
    from _pytest.config.findpaths import determine_setup

    namespace = config._parser.parse_known_args(args, namespace=copy.copy(config.option))
    wanted = {"inifile": namespace.inifilename, "override_ini": namespace.override_ini, "args": namespace.file_or_dir,
              "rootdir_cmd_arg": namespace.rootdir or None, "invocation_dir": config.invocation_params.dir}
    accepted = inspect.signature(determine_setup).parameters
    rootpath, inipath, inicfg, *rest = determine_setup(**{k: v for k, v in wanted.items() if k in accepted})
    if (rootpath, inipath) == (config.rootpath, config.inipath):
        config.known_args_namespace = config._parser.parse_known_args(args, namespace=config.known_args_namespace)
        return
    config._rootpath, config._inipath, config._inicfg = rootpath, inipath, inicfg
    if rest:
        config._ignored_config_files = rest[0]
    config._inicache.clear()
    config._parser.extra_info["rootdir"] = str(rootpath)
    config._parser.extra_info["inifile"] = str(inipath)
    addopts = config._validate_args(config.getini("addopts"), "via addopts config")
    config.pluginmanager.consider_preparse(addopts, exclude_only=True)  # the ini's `-p no:...` still applies
    args[:] = addopts + args
    config.known_args_namespace = config._parser.parse_known_args(args, namespace=copy.copy(config.option))
    if namespace.confcutdir is None:  # as pytest sets it when --confcutdir is not given
        config.known_args_namespace.confcutdir = str(inipath.parent if inipath is not None else rootpath)
