"""What reads a host (live / or a snapshot) through one root: Host and what builds on it."""
