"""What talks to the running kernel: ethtool ioctls, rtnetlink, udev events, namespaces."""
