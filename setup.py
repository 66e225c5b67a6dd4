"""Packages for the wheel: every Python package under conformance/, found, never listed by hand, plus the
two data folders pyproject.toml maps into the package (schemas/ and fixtures/). Everything else is in
pyproject.toml."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["conformance", "conformance.*"]), "conformance.schemas", "conformance.fixtures"])
