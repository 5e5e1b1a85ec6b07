"""Fixtures of the security tests: hostile inputs are built here, never shipped."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
