"""Settings from the config file and the command line (flags win)."""

from __future__ import annotations

import argparse

from connbudget.settings import Settings


def load_settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if getattr(args, "fail_on", None):
        settings.fail_on = args.fail_on
    if getattr(args, "threshold", None) is not None:
        settings.threshold = args.threshold
    settings.var_files.extend(getattr(args, "var_file", []) or [])
    if getattr(args, "no_cache", False):
        settings.cache = False
    return settings
