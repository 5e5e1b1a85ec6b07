"""accelnet: diagnose and monitor Azure Accelerated Networking from inside a Linux VM."""

__version__ = "0.1.0"
