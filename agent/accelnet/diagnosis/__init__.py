"""Facts gathered from a host, the checks run on them, and the report."""
