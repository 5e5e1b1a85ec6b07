"""Shim for editable installs with the setuptools of Python 3.6 (no PEP 660); see setup.cfg."""
from setuptools import setup

setup()
